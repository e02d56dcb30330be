package clean

import "testing"

func TestAmount(t *testing.T) {
	tests := []struct {
		in   string
		want string
		rule string
	}{
		{"¥1,299.00", "1299.00", ""},
		{"1299", "1299.00", ""},
		{"￥1299.5", "1299.50", ""},
		{"1299.00", "1299.00", ""},
		{"1，299.00", "1299.00", ""},
		{"1,234,567.89", "1234567.89", ""},
		{"RMB 88", "88.00", ""},
		{"CNY88.8", "88.80", ""},
		{"88元", "88.00", ""},
		{"1 299.00", "1299.00", ""},
		{"-12.50", "-12.50", ""},
		{"−12.50", "-12.50", ""},
		{"－12.50", "-12.50", ""},
		{"+12.5", "12.50", ""},
		{"(12.50)", "-12.50", ""},
		{"(¥12.50)", "-12.50", ""},
		{"¥-12.50", "-12.50", ""},
		{"-¥12.50", "-12.50", ""},
		{"-(12.50)", "", RuleAmountInvalid},
		{"(-12.50)", "", RuleAmountInvalid},
		{"0", "0.00", ""},
		{"-0", "0.00", ""},
		{".5", "0.50", ""},
		{"5.", "5.00", ""},
		{"007.10", "7.10", ""},
		{"12.500", "12.50", ""},
		{"12.000000", "12.00", ""},
		{"12.345", "", RuleAmountInvalid},
		{"12.3401", "", RuleAmountInvalid},
		{"9999999999999999.99", "9999999999999999.99", ""},
		{"-9999999999999999.99", "-9999999999999999.99", ""},
		{"10000000000000000", "", RuleAmountInvalid},
		{"12,99", "", RuleAmountInvalid},
		{"1,2345.00", "", RuleAmountInvalid},
		{",123", "", RuleAmountInvalid},
		{"1e3", "", RuleAmountInvalid},
		{"NaN", "", RuleAmountInvalid},
		{"abc", "", RuleAmountInvalid},
		{"12.3.4", "", RuleAmountInvalid},
		{"--5", "", RuleAmountInvalid},
		{"-", "", RuleAmountInvalid},
		{"¥", "", RuleAmountInvalid},
		{".", "", RuleAmountInvalid},
		{"()", "", RuleAmountInvalid},
		{"", "", RuleAmountMissing},
		{"  ", "", RuleAmountMissing},
	}
	for _, tc := range tests {
		got, err := Amount(tc.in)
		if RuleOf(err) != tc.rule {
			t.Errorf("Amount(%q) = %v, %v; want rule %q", tc.in, got, err, tc.rule)
			continue
		}
		if err == nil && got.String() != tc.want {
			t.Errorf("Amount(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestDecimalString(t *testing.T) {
	for _, tc := range []struct {
		d    Decimal
		want string
	}{
		{0, "0.00"}, {5, "0.05"}, {-5, "-0.05"}, {129900, "1299.00"}, {-1250, "-12.50"},
		{MaxAmount, "9999999999999999.99"}, {-9223372036854775808, "-92233720368547758.08"},
	} {
		if got := tc.d.String(); got != tc.want {
			t.Errorf("Decimal(%d).String() = %s, want %s", int64(tc.d), got, tc.want)
		}
	}
}
