package privacy

import (
	"context"
	"database/sql"
	"testing"

	"github.com/ckm-dev/ckm/engine"
)

// maskCases are values of each kind in the spellings the fixture exports
// and source systems use, with the one mask each must give (by hand).
var maskCases = []struct {
	kind     Kind
	in, want string
}{
	{IDNumber, "11010519491231002X", "110105************"},
	{IDNumber, "11010519491231002x", "110105************"},
	{IDNumber, "110105491231002", "110105************"},
	{IDNumber, "１１０１０５１９４９１２３１００２Ｘ", "110105************"},
	{IDNumber, "110105 19491231 002X", "110105************"},
	{IDNumber, "110105-19491231-002X", "110105************"},
	{IDNumber, "110105************", "110105************"},
	{IDNumber, "12345", "*****"},
	{IDNumber, "", ""},
	{Mobile, "+8613800138000", "+86 138****8000"},
	{Mobile, "13800138000", "+86 138****8000"},
	{Mobile, "+86 138-0013-8000", "+86 138****8000"},
	{Mobile, "0086 13800138000", "+86 138****8000"},
	{Mobile, "138 0013 8000", "+86 138****8000"},
	{Mobile, "１３８００１３８０００", "+86 138****8000"},
	{Mobile, "17951 13800138000", "+86 138****8000"},
	{Mobile, "12593 13800138000", "+86 138****8000"},
	{Mobile, "138-0013-8000", "+86 138****8000"},
	{Mobile, "+86 138****8000", "+86 138****8000"},
	{Mobile, "(+86)138.0013.8000", "+86 138****8000"},
	{Mobile, "\ufeff13800138000\u200b", "+86 138****8000"},
	{Mobile, "17911 13800138000", "+86 138****8000"},
	{Mobile, "010-12345678", "*******5678"},
	{Mobile, "12345", "*****"},
	{Mobile, "", ""},
	{Phone, "+44 20 7946 0958", "*********0958"},
	{Phone, "+1 (212) 555-0100", "********0100"},
	{Phone, "13800138000", "+86 138****8000"},
	{Email, "abc@b.cn", "a***@b.cn"},
	{Email, "A@B.CN", "a***@b.cn"},
	{Email, "张三@qq.com", "张***@qq.com"},
	{Email, "ａｂｃ＠ｂ．ｃｎ", "a***@b.cn"},
	{Email, "li-si@my-shop.example.com", "l***@my-shop.example.com"},
	{Email, " abc@b.cn ", "a***@b.cn"},
	{Email, "a***@b.cn", "a***@b.cn"},
	{Email, "nobody", "***"},
	{Email, "@qq.com", "***"},
	{Email, "", ""},
	{Name, "张三", "张**"},
	{Name, "　欧阳娜娜 ", "欧**"},
	{Name, "John Smith", "J**"},
	{Name, "张**", "张**"},
	{Name, " ", ""},
	{Address, "北京市东城区东华门街道1号", "***"},
	{Address, "221B Baker Street, London", "***"},
	{Address, "", ""},
}

func TestMask(t *testing.T) {
	for _, c := range maskCases {
		got := Mask(c.kind, c.in)
		if got != c.want {
			t.Errorf("Mask(%v, %q) = %q, want %q", c.kind, c.in, got, c.want)
		}
		if again := Mask(c.kind, got); again != got {
			t.Errorf("Mask(%v, Mask(%q)) = %q, want the mask %q again", c.kind, c.in, again, got)
		}
	}
}

// TestMaskSQLMatchesGo holds the SQL macros of schema version 7 — what the
// analyst views, cube drill-through and the Parquet export compute — to the
// Go masks, value by value.
func TestMaskSQLMatchesGo(t *testing.T) {
	ctx := context.Background()
	w, err := engine.Open(ctx, "", engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, c := range maskCases {
		var got sql.NullString
		if err := w.DB.QueryRowContext(ctx, "SELECT "+c.kind.MaskFunction()+"(?)", c.in).Scan(&got); err != nil {
			t.Fatalf("%s(%q): %v", c.kind.MaskFunction(), c.in, err)
		}
		if got.String != c.want {
			t.Errorf("%s(%q) = %q, want %q (Go gives %q)", c.kind.MaskFunction(), c.in, got.String, c.want, Mask(c.kind, c.in))
		}
	}
	for _, k := range []Kind{IDNumber, Mobile, Phone, Email, Name, Address} {
		var got sql.NullString
		if err := w.DB.QueryRowContext(ctx, "SELECT "+k.MaskFunction()+"(NULL)").Scan(&got); err != nil || got.Valid {
			t.Errorf("%s(NULL) = %v, %v; want NULL", k.MaskFunction(), got, err)
		}
	}
}
