package etl

import (
	"context"
	"crypto/md5"
	"encoding/binary"
	"testing"
)

// TestMD5UpperIsTheDigestsFirstEightBytes: the content hash stored in
// fact_sales.record_hash is the first eight bytes of the RFC 1321 digest
// read little-endian, as Go's crypto/md5 computes it, and equal to
// DuckDB's md5_number_upper that earlier loads stored.
func TestMD5UpperIsTheDigestsFirstEightBytes(t *testing.T) {
	w := openMem(t)
	for _, s := range []string{"", "a", "S062024010100001\x1f2024/1/1 09:00\x1e", "北京朝阳店", "ü\x00x", string(make([]byte, 300))} {
		var fast, old uint64
		if err := w.DB.QueryRowContext(context.Background(), "SELECT "+md5Upper("$1::VARCHAR")+", md5_number_upper($1::VARCHAR)", s).Scan(&fast, &old); err != nil {
			t.Fatal(err)
		}
		sum := md5.Sum([]byte(s))
		want := binary.LittleEndian.Uint64(sum[:8])
		if fast != want || old != want {
			t.Errorf("%q: md5Upper %d, md5_number_upper %d; crypto/md5 gives %d", s, fast, old, want)
		}
	}
}
