package clean

import (
	"testing"
	"time"
)

func TestDate(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		rule string
	}{
		{"2006-01-02", date(2006, 1, 2), ""},
		{"2006-1-2", date(2006, 1, 2), ""},
		{"2006/1/2", date(2006, 1, 2), ""},
		{"2006/01/02", date(2006, 1, 2), ""},
		{"20060102", date(2006, 1, 2), ""},
		{"2006年1月2日", date(2006, 1, 2), ""},
		{"2006年01月02日", date(2006, 1, 2), ""},
		{"2006.1.2", date(2006, 1, 2), ""},
		{"２００６／１／２", date(2006, 1, 2), ""},
		{" 1985-03-05 ", date(1985, 3, 5), ""},
		{"2024-02-29", date(2024, 2, 29), ""},
		// Excel 1900 serials: 45292 is 2024-01-01 (Excel shows it so);
		// 1 is 1900-01-01, 59 is 1900-02-28, 61 is 1900-03-01.
		{"45292", date(2024, 1, 1), ""},
		{"1", date(1900, 1, 1), ""},
		{"59", date(1900, 2, 28), ""},
		{"61", date(1900, 3, 1), ""},
		{"31111", date(1985, 3, 5), ""}, // Python: (date(1985,3,5)-date(1899,12,30)).days
		{"60", time.Time{}, RuleDateInvalid},
		{"0", time.Time{}, RuleDateInvalid},
		{"80001", time.Time{}, RuleDateInvalid},
		{"45292.5", time.Time{}, RuleDateInvalid},
		// With a time of day: the day (in China time when an offset is given).
		{"2024-03-05 14:22:31", date(2024, 3, 5), ""},
		{"2024-03-05T20:00:00Z", date(2024, 3, 6), ""},
		// Impossible or unreadable.
		{"2023-02-30", time.Time{}, RuleDateInvalid},
		{"2023-02-29", time.Time{}, RuleDateInvalid},
		{"20230230", time.Time{}, RuleDateInvalid},
		{"2023年2月30日", time.Time{}, RuleDateInvalid},
		{"2023年2月3", time.Time{}, RuleDateInvalid},
		{"2023-13-01", time.Time{}, RuleDateInvalid},
		{"2023-00-10", time.Time{}, RuleDateInvalid},
		{"2023-1-32", time.Time{}, RuleDateInvalid},
		{"2023-1/3", time.Time{}, RuleDateInvalid},
		{"2023-001-03", time.Time{}, RuleDateInvalid},
		{"0999-01-01", time.Time{}, RuleDateInvalid},
		{"05/03/2024", time.Time{}, RuleDateInvalid},
		{"2024-03-05x", time.Time{}, RuleDateInvalid},
		{"yesterday", time.Time{}, RuleDateInvalid},
		{"", time.Time{}, RuleDateMissing},
		{" \t", time.Time{}, RuleDateMissing},
	}
	for _, tc := range tests {
		got, err := Date(tc.in)
		if RuleOf(err) != tc.rule || !got.Equal(tc.want) {
			t.Errorf("Date(%q) = %v, %v; want %v, rule %q", tc.in, got, err, tc.want, tc.rule)
		}
		if err == nil && got.Location() != time.UTC {
			t.Errorf("Date(%q) location %v, want UTC", tc.in, got.Location())
		}
	}
}

func TestTimestamp(t *testing.T) {
	ts := func(y, mo, d, h, mi, s, ns int) time.Time {
		return time.Date(y, time.Month(mo), d, h, mi, s, ns, time.UTC)
	}
	tests := []struct {
		in   string
		want time.Time
		rule string
	}{
		{"2024/3/5 14:22", ts(2024, 3, 5, 14, 22, 0, 0), ""},
		{"2024/3/5 9:05", ts(2024, 3, 5, 9, 5, 0, 0), ""},
		{"2024-03-05 14:22:31", ts(2024, 3, 5, 14, 22, 31, 0), ""},
		{"2024-03-05  14:22:31", ts(2024, 3, 5, 14, 22, 31, 0), ""},
		{"2024-03-05T14:22:31", ts(2024, 3, 5, 14, 22, 31, 0), ""},
		{"2024-03-05T14:22:31+08:00", ts(2024, 3, 5, 14, 22, 31, 0), ""},
		{"2024-03-05T14:22:31.250+08:00", ts(2024, 3, 5, 14, 22, 31, 250e6), ""},
		{"2024-03-05T06:22:31Z", ts(2024, 3, 5, 14, 22, 31, 0), ""},
		{"2024-03-05T20:22:31Z", ts(2024, 3, 6, 4, 22, 31, 0), ""},
		{"2024-03-05T14:22:31+0800", ts(2024, 3, 5, 14, 22, 31, 0), ""},
		{"2024-03-05T14:22:31+08", ts(2024, 3, 5, 14, 22, 31, 0), ""},
		{"2024-03-05T01:22:31-05:00", ts(2024, 3, 5, 14, 22, 31, 0), ""},
		{"2024-03-05 06:22:31 UTC", ts(2024, 3, 5, 14, 22, 31, 0), ""},
		{"2024-01-01T00:30:00+09:00", ts(2023, 12, 31, 23, 30, 0, 0), ""},
		{"2024年3月5日 14:22", ts(2024, 3, 5, 14, 22, 0, 0), ""},
		{"20240305142231", ts(2024, 3, 5, 14, 22, 31, 0), ""},
		{"2024-03-05", ts(2024, 3, 5, 0, 0, 0, 0), ""},
		{"2024/3/5", ts(2024, 3, 5, 0, 0, 0, 0), ""},
		{"45292", ts(2024, 1, 1, 0, 0, 0, 0), ""},
		{"45292.5", ts(2024, 1, 1, 12, 0, 0, 0), ""},
		{"45356.598958333336", ts(2024, 3, 5, 14, 22, 30, 0), ""},
		{"2024-03-05 24:00", time.Time{}, RuleDateInvalid},
		{"2024-03-05 14:60", time.Time{}, RuleDateInvalid},
		{"2024-03-05 14:22:61", time.Time{}, RuleDateInvalid},
		{"2024-03-05 14", time.Time{}, RuleDateInvalid},
		{"2024-03-05 14:2", time.Time{}, RuleDateInvalid},
		{"2024-03-05T14:22:31+25:00", time.Time{}, RuleDateInvalid},
		{"2024-03-05 14:22 PM", time.Time{}, RuleDateInvalid},
		{"2023-02-30 10:00", time.Time{}, RuleDateInvalid},
		{"2024-03-05X14:22", time.Time{}, RuleDateInvalid},
		{"", time.Time{}, RuleDateMissing},
	}
	for _, tc := range tests {
		got, err := Timestamp(tc.in)
		if RuleOf(err) != tc.rule || !got.Equal(tc.want) {
			t.Errorf("Timestamp(%q) = %v, %v; want %v, rule %q", tc.in, got, err, tc.want, tc.rule)
		}
	}
}
