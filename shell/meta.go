package shell

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/ckm-dev/ckm/engine"
)

// metaCommand is one dot-command of the shell.
type metaCommand struct {
	name  string
	args  string
	help  string
	run   func(s *Shell, ctx context.Context, source string, args []string) error
	nargs [2]int // minimum and maximum number of arguments
}

var metaCommands []metaCommand

func init() {
	metaCommands = []metaCommand{
		{"help", "", "show this help", (*Shell).metaHelp, [2]int{0, 0}},
		{"tables", "[PATTERN]", "list tables and views (LIKE pattern)", (*Shell).metaTables, [2]int{0, 1}},
		{"schema", "[TABLE]", "show CREATE statements, of all tables or one", (*Shell).metaSchema, [2]int{0, 1}},
		{"functions", "[PATTERN]", "list ckm's SQL functions (cleaners, masks, mining)", (*Shell).metaFunctions, [2]int{0, 1}},
		{"mode", "MODE", "set the output mode: table, csv, json, line or markdown", (*Shell).metaMode, [2]int{0, 1}},
		{"timer", "on|off", "show each statement's run time", (*Shell).metaTimer, [2]int{1, 1}},
		{"read", "FILE", "run the statements in FILE", (*Shell).metaRead, [2]int{1, 1}},
		{"output", "[FILE]", "send results to FILE, or back to stdout", (*Shell).metaOutput, [2]int{0, 1}},
		{"cube", "NAME [FLAGS]", "query a cube; FLAGS as ckm cube query's (--measures, --rows, --where …)", (*Shell).metaCube, [2]int{0, 64}},
		{"mine", "[OP [NAME=VALUE …]]", "run a mining function: .mine rfm window_days=365 runs ckm_rfm(window_days := 365)", (*Shell).metaMine, [2]int{0, 32}},
		{"pii", "on|off", "show raw ID numbers, mobiles and e-mails (admin role only)", (*Shell).metaPII, [2]int{0, 1}},
		{"quit", "", "leave the shell", (*Shell).metaQuit, [2]int{0, 0}},
		{"exit", "", "leave the shell", (*Shell).metaQuit, [2]int{0, 0}},
	}
}

// meta runs a meta-command line such as ".mode csv".
func (s *Shell) meta(ctx context.Context, source string, it item) error {
	words, err := splitArgs(strings.TrimPrefix(it.Text, "."))
	if err != nil {
		return err
	}
	if len(words) == 0 {
		return errors.New("empty meta-command: try .help")
	}
	name, args := words[0], words[1:]
	for _, c := range metaCommands {
		if c.name != name {
			continue
		}
		if len(args) < c.nargs[0] || len(args) > c.nargs[1] {
			return fmt.Errorf("usage: .%s %s", c.name, c.args)
		}
		s.line = it.Line
		return c.run(s, ctx, source, args)
	}
	return fmt.Errorf("unknown meta-command .%s: try .help", name)
}

// MetaArgs splits a meta-command line (without its dot) into words as the
// shell does: single or double quotes keep spaces inside a word.
func MetaArgs(line string) ([]string, error) { return splitArgs(line) }

// splitArgs splits a meta-command line into words; single or double quotes
// keep spaces inside a word.
func splitArgs(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	for _, c := range line {
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				cur.WriteRune(c)
			}
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated quote in .%s", line)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

func (s *Shell) metaHelp(_ context.Context, _ string, _ []string) error {
	_, err := io.WriteString(s.out, MetaCommandHelp())
	return err
}

func (s *Shell) metaTables(ctx context.Context, source string, args []string) error {
	pattern := "%"
	if len(args) == 1 {
		pattern = args[0]
	}
	q := `SELECT table_name AS name, 'table' AS kind, estimated_size AS rows
FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' AND NOT temporary AND table_name LIKE ` + engine.QuoteString(pattern) + `
UNION ALL
SELECT view_name, CASE schema_name WHEN 'main' THEN 'view' ELSE 'masked view' END, NULL FROM duckdb_views() WHERE database_name = current_database() AND schema_name IN ('main', 'analyst') AND NOT internal AND view_name LIKE ` + engine.QuoteString(pattern) + `
UNION ALL
SELECT table_name, 'temporary table', estimated_size FROM duckdb_tables() WHERE temporary AND table_name LIKE ` + engine.QuoteString(pattern) + `
ORDER BY name`
	return s.exec(ctx, item{Text: q, trusted: true})
}

func (s *Shell) metaFunctions(ctx context.Context, _ string, args []string) error {
	pattern := "ckm_%"
	if len(args) == 1 {
		pattern = args[0]
	}
	q := `SELECT function_name AS name, any_value(function_type) AS kind,
	string_agg(DISTINCT '(' || array_to_string(coalesce(parameters, []), ', ') || ')', ' | ') AS arguments,
	any_value(return_type) AS returns
FROM duckdb_functions() WHERE function_name LIKE ` + engine.QuoteString(pattern) + ` AND function_name LIKE 'ckm%'
GROUP BY function_name ORDER BY function_name`
	return s.exec(ctx, item{Text: q, trusted: true})
}

func (s *Shell) metaSchema(ctx context.Context, _ string, args []string) error {
	filter := ""
	if len(args) == 1 {
		filter = " AND name = " + engine.QuoteString(args[0])
	}
	q := `SELECT sql FROM (
	SELECT table_name AS name, sql, 1 AS k FROM duckdb_tables() WHERE schema_name = 'main' AND database_name = current_database()
	UNION ALL SELECT view_name, sql, 2 FROM duckdb_views() WHERE schema_name = 'main' AND database_name = current_database() AND NOT internal
) WHERE true` + filter + ` ORDER BY k, name`
	rows, err := s.conn.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	var b strings.Builder
	n := 0
	for rows.Next() {
		var stmt string
		if err := rows.Scan(&stmt); err != nil {
			return err
		}
		stmt = strings.TrimRight(strings.TrimSpace(stmt), ";")
		b.WriteString(stmt + ";\n")
		n++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if n == 0 && len(args) == 1 {
		return fmt.Errorf("no table or view named %q", args[0])
	}
	_, err = io.WriteString(s.out, b.String())
	return err
}

func (s *Shell) metaMode(_ context.Context, _ string, args []string) error {
	if len(args) == 0 {
		_, err := fmt.Fprintf(s.out, "%s\n", s.mode)
		return err
	}
	if !slices.Contains(Modes, args[0]) {
		return fmt.Errorf("unknown mode %q: want %s", args[0], strings.Join(Modes, ", "))
	}
	s.mode = args[0]
	return nil
}

func onOff(cmd, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "on", "true", "1", "yes":
		return true, nil
	case "off", "false", "0", "no":
		return false, nil
	}
	return false, fmt.Errorf(".%s %q: want on or off", cmd, v)
}

func (s *Shell) metaTimer(_ context.Context, _ string, args []string) error {
	on, err := onOff("timer", args[0])
	s.timer = on && err == nil
	return err
}

func (s *Shell) metaRead(ctx context.Context, _ string, args []string) error {
	return ReadFile(&s.depth, args[0], func(f *os.File) error {
		return s.run(ctx, args[0], newReaderSource(f, nil))
	})
}

// ReadFile carries out .read NAME for a shell whose nesting of .read is
// *depth: run gets the opened file with the depth one deeper; files that
// read each other stop at 16 levels. The embedded shell and the REPL
// through ckm serve share it.
func ReadFile(depth *int, name string, run func(*os.File) error) error {
	if *depth >= 16 {
		return fmt.Errorf(".read %s: files read each other too deeply (16 levels)", name)
	}
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf(".read: %w", err)
	}
	defer f.Close()
	*depth++
	defer func() { *depth-- }()
	return run(f)
}

func (s *Shell) metaOutput(_ context.Context, _ string, args []string) error {
	err := s.output.Switch(args)
	s.out = s.output.Writer()
	return err
}

// Output is where a shell's results go: its standard output, or the file
// .output named. The embedded shell and the REPL through ckm serve share it.
type Output struct {
	Stdout io.Writer
	file   *os.File
}

// Writer is the file .output named, else Stdout.
func (o *Output) Writer() io.Writer {
	if o.file != nil {
		return o.file
	}
	return o.Stdout
}

// ToFile says whether results go to a file (no terminal width applies).
func (o *Output) ToFile() bool { return o.file != nil }

// Switch carries out .output ARGS: with no argument or "stdout" results go
// back to Stdout (the file is closed); else the file named is opened —
// owner-only, as the history file, since results may hold raw personal
// data — and, once it is open, the previous one is closed. On an error
// results go to Stdout, as the message says, not on into an older file.
func (o *Output) Switch(args []string) error {
	if len(args) == 0 || args[0] == "stdout" {
		return o.Close()
	}
	f, err := os.OpenFile(args[0], os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		if cerr := o.Close(); cerr != nil {
			return fmt.Errorf(".output: %w; closing the previous file: %v; results go to stdout", err, cerr)
		}
		return fmt.Errorf(".output: %w; results go to stdout", err)
	}
	if err := f.Chmod(0o600); err != nil { // a file that was there before
		f.Close()
		return fmt.Errorf(".output: %w", err)
	}
	if err := o.Close(); err != nil {
		f.Close()
		return err
	}
	o.file = f
	return nil
}

// Close closes the .output file, if any: results go to Stdout again.
func (o *Output) Close() error {
	if o.file == nil {
		return nil
	}
	err := o.file.Close()
	o.file = nil
	return err
}

func (s *Shell) metaPII(ctx context.Context, _ string, args []string) error {
	if len(args) == 0 {
		state := "off (masked)"
		if s.raw {
			state = "on (raw values)"
		}
		_, err := fmt.Fprintf(s.out, "pii %s, role %s\n", state, s.opts.Principal.Role)
		return err
	}
	on, err := onOff("pii", args[0])
	if err != nil {
		return err
	}
	if on && !s.opts.Principal.MayReveal() {
		return fmt.Errorf(".pii on: role %s may not see raw personal data; a steward or admin may, with --reveal REASON", s.opts.Principal.Role)
	}
	if on && s.opts.RevealReason == "" {
		return fmt.Errorf(".pii on: raw personal data is shown only with a reason, which the audit keeps: start the shell with --reveal REASON")
	}
	return s.setRaw(ctx, on)
}

func (s *Shell) metaQuit(context.Context, string, []string) error {
	s.quit = true
	return nil
}
