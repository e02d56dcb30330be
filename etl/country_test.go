package etl

import (
	"strings"
	"testing"
)

func TestCountry(t *testing.T) {
	for in, want := range map[string]string{
		"BR": "BR", "bra": "BR", "Brazil": "BR", "United Kingdom": "GB", "UK": "GB", "EIRE": "IE", "RSA": "ZA", "USA": "US",
		"France": "FR", " portugal ": "PT", "Czech Republic": "CZ", "Czechia": "CZ", "中国": "CN", "CHN": "CN",
		"Bosnia and Herzegovina": "BA", "Hong Kong": "HK",
		"Unspecified": "", "European Community": "", "Channel Islands": "", "": "", "FX": "", "EU": "", "XX": "",
	} {
		got, ok := Country(in)
		if got != want || ok != (want != "") {
			t.Errorf("Country(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if n := len(strings.Fields(iso3166)); n != 249 {
		t.Errorf("%d ISO 3166-1 codes, want 249", n)
	}
}

func TestUnitPrice(t *testing.T) {
	for in, want := range map[string]string{
		"2.55": "2.5500", "0.125": "0.1250", "0.0010": "0.0010", "¥1,299.5": "1299.5000", "1,234.5678": "1234.5678",
		"-0.0001": "-0.0001", "(1.2345)": "-1.2345", "27.50": "27.5000", "3": "3.0000",
		"1.23456": "", "abc": "", "": "", "1.2.3": "",
	} {
		got, ok := UnitPrice(in)
		if got != want || ok != (want != "") {
			t.Errorf("UnitPrice(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
