package olap

// SSBQueries are the 13 Star Schema Benchmark queries (Q1.1–Q4.3) written
// as queries of the builtin ssb cube, in the order of the specification.
var SSBQueries = []struct {
	Name  string
	Query Query
}{
	{"Q1.1", Query{Cube: "ssb", Measures: []string{"discount_revenue"}, Where: []Filter{
		{Level: "date.year", Op: "eq", Values: []any{1993}}, {Level: "line.discount", Op: "between", Values: []any{1, 3}}, {Level: "line.quantity", Op: "lt", Values: []any{25}}}}},
	{"Q1.2", Query{Cube: "ssb", Measures: []string{"discount_revenue"}, Where: []Filter{
		{Level: "date.yearmonthnum", Op: "eq", Values: []any{199401}}, {Level: "line.discount", Op: "between", Values: []any{4, 6}}, {Level: "line.quantity", Op: "between", Values: []any{26, 35}}}}},
	{"Q1.3", Query{Cube: "ssb", Measures: []string{"discount_revenue"}, Where: []Filter{
		{Level: "date.week", Op: "eq", Values: []any{6}}, {Level: "date.year", Op: "eq", Values: []any{1994}},
		{Level: "line.discount", Op: "between", Values: []any{5, 7}}, {Level: "line.quantity", Op: "between", Values: []any{26, 35}}}}},
	{"Q2.1", Query{Cube: "ssb", Measures: []string{"revenue"}, Rows: []string{"date.year", "part.brand"}, Where: []Filter{
		{Level: "part.category", Op: "eq", Values: []any{"MFGR#12"}}, {Level: "supplier.region", Op: "eq", Values: []any{"AMERICA"}}}}},
	{"Q2.2", Query{Cube: "ssb", Measures: []string{"revenue"}, Rows: []string{"date.year", "part.brand"}, Where: []Filter{
		{Level: "part.brand", Op: "between", Values: []any{"MFGR#2221", "MFGR#2228"}}, {Level: "supplier.region", Op: "eq", Values: []any{"ASIA"}}}}},
	{"Q2.3", Query{Cube: "ssb", Measures: []string{"revenue"}, Rows: []string{"date.year", "part.brand"}, Where: []Filter{
		{Level: "part.brand", Op: "eq", Values: []any{"MFGR#2239"}}, {Level: "supplier.region", Op: "eq", Values: []any{"EUROPE"}}}}},
	{"Q3.1", Query{Cube: "ssb", Measures: []string{"revenue"}, Rows: []string{"customer.nation", "supplier.nation", "date.year"}, Where: []Filter{
		{Level: "customer.region", Op: "eq", Values: []any{"ASIA"}}, {Level: "supplier.region", Op: "eq", Values: []any{"ASIA"}}, {Level: "date.year", Op: "between", Values: []any{1992, 1997}}},
		Order: []Order{{Key: "date.year"}, {Key: "revenue", Desc: true}}}},
	{"Q3.2", Query{Cube: "ssb", Measures: []string{"revenue"}, Rows: []string{"customer.city", "supplier.city", "date.year"}, Where: []Filter{
		{Level: "customer.nation", Op: "eq", Values: []any{"UNITED STATES"}}, {Level: "supplier.nation", Op: "eq", Values: []any{"UNITED STATES"}}, {Level: "date.year", Op: "between", Values: []any{1992, 1997}}},
		Order: []Order{{Key: "date.year"}, {Key: "revenue", Desc: true}}}},
	{"Q3.3", Query{Cube: "ssb", Measures: []string{"revenue"}, Rows: []string{"customer.city", "supplier.city", "date.year"}, Where: []Filter{
		{Level: "customer.city", Op: "in", Values: []any{"UNITED KI1", "UNITED KI5"}}, {Level: "supplier.city", Op: "in", Values: []any{"UNITED KI1", "UNITED KI5"}}, {Level: "date.year", Op: "between", Values: []any{1992, 1997}}},
		Order: []Order{{Key: "date.year"}, {Key: "revenue", Desc: true}}}},
	{"Q3.4", Query{Cube: "ssb", Measures: []string{"revenue"}, Rows: []string{"customer.city", "supplier.city", "date.year"}, Where: []Filter{
		{Level: "customer.city", Op: "in", Values: []any{"UNITED KI1", "UNITED KI5"}}, {Level: "supplier.city", Op: "in", Values: []any{"UNITED KI1", "UNITED KI5"}}, {Level: "date.month", Op: "eq", Values: []any{"Dec1997"}}},
		Order: []Order{{Key: "date.year"}, {Key: "revenue", Desc: true}}}},
	{"Q4.1", Query{Cube: "ssb", Measures: []string{"profit"}, Rows: []string{"date.year", "customer.nation"}, Where: []Filter{
		{Level: "customer.region", Op: "eq", Values: []any{"AMERICA"}}, {Level: "supplier.region", Op: "eq", Values: []any{"AMERICA"}}, {Level: "part.mfgr", Op: "in", Values: []any{"MFGR#1", "MFGR#2"}}}}},
	{"Q4.2", Query{Cube: "ssb", Measures: []string{"profit"}, Rows: []string{"date.year", "supplier.nation", "part.category"}, Where: []Filter{
		{Level: "customer.region", Op: "eq", Values: []any{"AMERICA"}}, {Level: "supplier.region", Op: "eq", Values: []any{"AMERICA"}},
		{Level: "date.year", Op: "in", Values: []any{1997, 1998}}, {Level: "part.mfgr", Op: "in", Values: []any{"MFGR#1", "MFGR#2"}}}}},
	{"Q4.3", Query{Cube: "ssb", Measures: []string{"profit"}, Rows: []string{"date.year", "supplier.city", "part.brand"}, Where: []Filter{
		{Level: "customer.region", Op: "eq", Values: []any{"AMERICA"}}, {Level: "supplier.nation", Op: "eq", Values: []any{"UNITED STATES"}},
		{Level: "date.year", Op: "in", Values: []any{1997, 1998}}, {Level: "part.category", Op: "eq", Values: []any{"MFGR#14"}}}}},
}
