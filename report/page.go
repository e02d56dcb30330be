package report

import "html/template"

// page is the report's HTML: inline CSS, inline SVG, no script and no
// reference to anything outside the file.
var page = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="ckm">
<title>{{.Title}}{{if .AsOf}} — as of {{.AsOf}}{{end}}</title>
<style>
:root { --ink: #1f2933; --muted: #616e7c; --line: #d9e2ec; --accent: #2f6fdb; --accent2: #e8833a; --bg: #fff; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "Noto Sans", "PingFang SC", "Microsoft YaHei", sans-serif; color: var(--ink); background: #f5f7fa; }
header { background: var(--ink); color: #fff; padding: 24px 32px; }
header h1 { margin: 0 0 4px; font-size: 24px; }
header p { margin: 0; color: #cbd2d9; }
nav { padding: 8px 32px; background: #fff; border-bottom: 1px solid var(--line); position: sticky; top: 0; }
nav a { margin-right: 16px; color: var(--accent); text-decoration: none; font-size: 14px; }
main { max-width: 1100px; margin: 0 auto; padding: 16px 32px 48px; }
section { background: var(--bg); border: 1px solid var(--line); border-radius: 8px; padding: 16px 24px; margin: 20px 0; }
section h2 { margin: 0 0 4px; font-size: 20px; }
.intro, .note, figcaption, caption { color: var(--muted); font-size: 13px; }
.empty { padding: 16px; border: 1px dashed var(--muted); border-radius: 6px; color: var(--muted); background: #fafbfc; }
figure { margin: 16px 0; overflow-x: auto; }
svg.chart { max-width: 100%; height: auto; font-size: 11px; }
svg .grid { stroke: var(--line); }
svg .tick, svg .label { fill: var(--muted); }
svg .value, svg .cell-text { fill: var(--ink); }
svg .line { fill: none; stroke: var(--accent); stroke-width: 2; }
svg circle.mark { fill: var(--accent); }
svg .forecast { fill: none; stroke: var(--accent2); stroke-width: 2; stroke-dasharray: 6 4; }
svg circle.forecast-mark { fill: var(--accent2); }
svg .band { fill: var(--accent2); fill-opacity: 0.15; }
svg rect.mark { fill: var(--accent); }
svg rect.cell { fill: var(--accent); }
svg .diagonal { stroke: var(--muted); stroke-dasharray: 3 3; }
svg .marker { stroke: var(--accent2); stroke-dasharray: 4 3; }
table { border-collapse: collapse; margin: 12px 0; font-size: 13px; }
caption { text-align: left; padding-bottom: 4px; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
th { background: #f0f4f8; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
footer { color: var(--muted); font-size: 12px; text-align: center; padding: 16px; }
</style>
</head>
<body>
<header>
<h1>{{.Title}}</h1>
<p>{{if .AsOf}}Sales up to and including {{.AsOf}}{{else}}No data yet{{end}} · data version {{.DataVersion}} · generated {{.Generated}} · personal data masked</p>
</header>
<nav>{{range .Sections}}<a href="#{{.ID}}">{{.Title}}</a>{{end}}</nav>
<main>
{{range .Sections}}<section id="{{.ID}}" data-section="{{.ID}}">
<h2>{{.Title}}</h2>
<p class="intro">{{.Intro}}</p>
{{if .Empty}}<p class="empty" data-empty="{{.ID}}">No data. {{.Empty}}</p>
{{else}}{{range .Figures}}<figure>{{.SVG}}<figcaption>{{.Caption}}</figcaption></figure>
{{end}}{{range .Tables}}<table>{{$t := .}}<caption>{{.Caption}}</caption>
<thead><tr>{{range $i, $h := .Header}}<th{{if index $t.Numeric $i}} class="num"{{end}}>{{$h}}</th>{{end}}</tr></thead>
<tbody>{{range .Rows}}<tr>{{range $i, $c := .}}<td{{if index $t.Numeric $i}} class="num"{{end}}>{{$c}}</td>{{end}}</tr>
{{end}}</tbody></table>
{{end}}{{range .Notes}}<p class="note">{{.}}</p>
{{end}}{{end}}</section>
{{end}}</main>
<footer>ckm report · one file, no scripts, nothing fetched · personal data masked as for an analyst</footer>
</body>
</html>
`))
