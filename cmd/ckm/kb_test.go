package main

import "testing"

// TestNewKBCmds checks what ckm kb list and ckm kb show parse into and that
// a bad model id or --top is a usage error naming it.
func TestNewKBCmds(t *testing.T) {
	checkParse(t, []string{"kb"}, newKBListCmd, []string{"kb", "list"}, func(o *kbListOptions) { o.app = nil }, []parseCase[kbListOptions]{
		{name: "all kinds", want: kbListOptions{}},
		{name: "one kind", args: []string{"--kind", "rules"}, want: kbListOptions{Kind: "rules"}},
		{name: "arguments", args: []string{"x"}, err: "unknown command"},
	})
	checkParse(t, []string{"kb"}, newKBShowCmd, []string{"kb", "show"}, func(o *kbShowOptions) { o.app = nil }, []parseCase[kbShowOptions]{
		{name: "model", args: []string{"7"}, want: kbShowOptions{Model: 7, Top: 10}},
		{name: "top", args: []string{"7", "--top", "3"}, want: kbShowOptions{Model: 7, Top: 3}},
		{name: "top from the environment", env: map[string]string{"CKM_KB_SHOW_TOP": "5"}, args: []string{"2"}, want: kbShowOptions{Model: 2, Top: 5}},
		{name: "no model", err: "accepts 1 arg"},
		{name: "model not a number", args: []string{"rules"}, err: `model "rules"`},
		{name: "model zero", args: []string{"0"}, err: `model "0"`},
		{name: "negative top", args: []string{"7", "--top", "-1"}, err: "--top -1"},
	})
}
