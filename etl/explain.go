package etl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ckm-dev/ckm/etl/clean"
)

// ExplainField is how one canonical field of a file is filled.
type ExplainField struct {
	Field    string `json:"field"`
	Required bool   `json:"required"`
	// From is the header it maps ("" when none does), "value: V", "sql:
	// EXPR", "JOIN.header" for a joined file's column, or a JSON path.
	From  string   `json:"from"`
	Tried []string `json:"tried"` // the headers tried, in order
}

// ExplainFile is which source reads a file and how.
type ExplainFile struct {
	Path    string         `json:"path"`
	Source  string         `json:"source"`
	Target  string         `json:"target"`
	Role    string         `json:"role"` // "lines", or "join NAME of SOURCE"
	Format  string         `json:"format,omitempty"`
	Headers []string       `json:"headers,omitempty"`
	Fields  []ExplainField `json:"fields,omitempty"`
	Note    string         `json:"note,omitempty"` // why fields are not shown, or what is wrong
}

// ExplainReport is what a load of paths would read.
type ExplainReport struct {
	Files   []ExplainFile `json:"files"`
	Ignored []string      `json:"ignored,omitempty"`
	Refused []string      `json:"refused,omitempty"`
}

// errHeaderRead stops a reading of the lines once the header is read
// (Explain, readParallel).
var errHeaderRead = errors.New("header read")

// Explain says, without loading anything, which source each file of paths
// matches and how each canonical field is filled from its header: the
// header mapped and the aliases tried. Configured mappings precede the
// built-in ones.
func Explain(ctx context.Context, paths []string, configured []Mapping) (*ExplainReport, error) {
	builtin, err := DefaultMappings()
	if err != nil {
		return nil, err
	}
	found, err := discover(paths, mergeMappings(builtin, configured))
	if err != nil {
		return nil, err
	}
	rep := &ExplainReport{Ignored: found.ignored, Refused: found.refused}
	for _, j := range found.jobs {
		rep.Files = append(rep.Files, explainFile(ctx, j))
	}
	return rep, nil
}

func explainFile(ctx context.Context, j *fileJob) ExplainFile {
	m := j.m
	ef := ExplainFile{Path: j.Path, Source: m.Name, Target: m.Target, Role: "lines"}
	if m.joinOf != nil {
		ef.Source, ef.Role = m.joinOf.Name, fmt.Sprintf("join %s of %s", m.join.Name, m.joinOf.Name)
	}
	f, st, err := openRegular(j.Path)
	if err != nil {
		ef.Note = err.Error()
		return ef
	}
	defer f.Close()
	if st.Size() == 0 {
		ef.Note = "empty: an export of nothing, 0 lines read"
		return ef
	}
	head := make([]byte, sniffSize)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		ef.Note = err.Error()
		return ef
	}
	d, err := detectHead(j.Path, head[:n], m)
	if err != nil {
		ef.Note = err.Error()
		return ef
	}
	ef.Format = d.Format
	switch d.Format {
	case "ndjson", "json":
		for _, fld := range m.fields() {
			c := m.Columns[fld]
			prefix := ""
			if len(c.Aliases) == 0 {
				c, prefix = m.ItemColumns[fld], m.Items+"[]."
			}
			ef.Fields = append(ef.Fields, ExplainField{Field: fld, Required: isRequired(m.Target, fld), From: "json " + prefix + c.Aliases[0], Tried: c.Aliases})
		}
		return ef
	case "parquet":
		ef.Note = "Parquet: columns are matched when loading"
		return ef
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		ef.Note = err.Error()
		return ef
	}
	var header []string
	emit := func(_ int64, cells []string, _ string) error {
		if cells == nil || isBlankRow(cells) {
			return nil
		}
		header = append([]string(nil), cells...)
		return errHeaderRead
	}
	if d.Format == "xlsx" {
		err = readXLSX(ctx, f, m.Sheet, emit)
	} else {
		err = readDelimited(ctx, f, d, func() int { return 0 }, emit)
	}
	if err != nil && !errors.Is(err, errHeaderRead) {
		ef.Note = err.Error()
		return ef
	}
	if header == nil {
		ef.Note = "no header: an export of nothing, 0 lines read"
		return ef
	}
	ef.Headers = header
	keys := map[string]string{}
	for _, h := range header {
		keys[clean.HeaderKey(h)] = h
	}
	if m.joinOf != nil {
		for _, k := range sortedStrings(m.join.On) {
			ef.Fields = append(ef.Fields, ExplainField{Field: "key " + cmpOr(m.join.From, thisAlias) + "." + k, Required: true,
				From: keys[clean.HeaderKey(m.join.On[k])], Tried: []string{m.join.On[k]}})
		}
		return ef
	}
	joins := map[string]bool{}
	for _, jn := range m.Joins {
		joins[jn.Name] = true
	}
	for _, fld := range m.fields() {
		c := m.Columns[fld]
		x := ExplainField{Field: fld, Required: isRequired(m.Target, fld), Tried: []string{}}
		switch {
		case c.Value != nil:
			x.From = "value: " + *c.Value
		case c.SQL != "":
			x.From = "sql: " + c.SQL
		default:
			tried := c.Aliases
			if !m.raw() {
				tried = append([]string{fld}, c.Aliases...) // the field's own name matches too
			}
			x.Tried = tried
			for _, a := range tried {
				if q, _, ok := strings.Cut(a, "."); ok && joins[q] {
					x.From = a + " (joined)"
					break
				}
				if h, ok := keys[clean.HeaderKey(a)]; ok {
					x.From = h
					break
				}
			}
		}
		ef.Fields = append(ef.Fields, x)
	}
	return ef
}
