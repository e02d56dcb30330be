package main

import "github.com/spf13/cobra"

// Command groups whose subcommands live in their own files: a file adds a
// subcommand with registerFixturesCommand, registerBenchCommand,
// registerMineCommand or registerCubeCommand in its init().
var (
	fixturesCommands []func(*app) *cobra.Command
	benchCommands    []func(*app) *cobra.Command
	mineCommands     []func(*app) *cobra.Command
	cubeCommands     []func(*app) *cobra.Command
	kbCommands       []func(*app) *cobra.Command
)

func registerFixturesCommand(f func(*app) *cobra.Command) {
	fixturesCommands = append(fixturesCommands, f)
}
func registerBenchCommand(f func(*app) *cobra.Command) { benchCommands = append(benchCommands, f) }
func registerMineCommand(f func(*app) *cobra.Command)  { mineCommands = append(mineCommands, f) }
func registerCubeCommand(f func(*app) *cobra.Command)  { cubeCommands = append(cubeCommands, f) }
func registerKBCommand(f func(*app) *cobra.Command)    { kbCommands = append(kbCommands, f) }

func init() {
	group := func(use, short string, subs *[]func(*app) *cobra.Command) func(*app) *cobra.Command {
		return func(a *app) *cobra.Command {
			cmd := &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs,
				RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() }}
			for _, f := range *subs {
				cmd.AddCommand(f(a))
			}
			return cmd
		}
	}
	registerCommand(group("fixtures", "Generate test data sets (customer exports, SSB)", &fixturesCommands))
	registerCommand(group("bench", "Side-by-side timings against raw DuckDB", &benchCommands))
	registerCommand(group("mine", "Mine customer knowledge into the knowledge base", &mineCommands))
	registerCommand(group("cube", "Query OLAP cubes: list, show, query, explain", &cubeCommands))
	registerCommand(group("kb", "Browse the knowledge base: models, parameters, lineage, rules", &kbCommands))
}
