package shell

// SplitStatements cuts SQL text into its statements, without their final
// semicolons, as the shell does: semicolons inside quotes, dollar quotes
// and comments do not end a statement. (ckm serve runs a simple query of
// several statements one by one.)
func SplitStatements(text string) []string {
	var sp splitter
	var out []string
	line := 0
	for i := 0; i <= len(text); i++ {
		if i == len(text) || text[i] == '\n' {
			for _, it := range sp.Feed(text[line:i]) {
				out = append(out, it.Text)
			}
			line = i + 1
		}
	}
	if it, ok := sp.Flush(); ok {
		out = append(out, it.Text)
	}
	return out
}
