package duckdb

import (
	"fmt"
	"unsafe"

	"github.com/duckdb/duckdb-go/v2/mapping"
)

// VectorWriter writes a DuckDB vector. It is valid as long as the
// underlying vector is valid and writable.
type VectorWriter[T vectorValue] struct {
	vector Vector
}

// GetVectorWriter returns a typed writer for a writable DuckDB vector. The
// caller must get the vector from a writable source.
func GetVectorWriter[T vectorValue](vector Vector) (VectorWriter[T], error) {
	writer, err := newVectorWriter[T](vector)
	if err != nil {
		return VectorWriter[T]{}, getError(errAPI, err)
	}
	return writer, nil
}

func newVectorWriter[T vectorValue](vector Vector) (VectorWriter[T], error) {
	if vector.v == nil {
		return VectorWriter[T]{}, errUninitializedVectorWriter
	}
	if vector.v.Type != TYPE_VARCHAR || vector.v.isJSON {
		return VectorWriter[T]{}, vectorWriterTypeError(vector.v)
	}
	return VectorWriter[T]{vector: vector}, nil
}

// Len returns the vector's logical row count.
func (writer VectorWriter[T]) Len() int {
	return writer.vector.logicalCount
}

// Set writes value at row. DuckDB copies valid values. Invalid UTF-8 can
// produce SQL NULL.
func (writer VectorWriter[T]) Set(row int, value T) error {
	if err := writer.checkRow(row); err != nil {
		return getError(errAPI, err)
	}

	rowIdx := mapping.IdxT(row)
	mapping.ValiditySetRowValidity(writer.vector.v.maskPtr, rowIdx, true)
	mapping.VectorAssignStringElement(writer.vector.v.vec, rowIdx, string(value))
	return nil
}

// SetNull writes SQL NULL at row.
func (writer VectorWriter[T]) SetNull(row int) error {
	if err := writer.checkRow(row); err != nil {
		return getError(errAPI, err)
	}
	writer.vector.v.setNull(mapping.IdxT(row))
	return nil
}

func (writer VectorWriter[T]) checkRow(row int) error {
	if writer.vector.v == nil {
		return errUninitializedVectorWriter
	}
	if row < 0 || row >= writer.Len() {
		return rowIndexError(row, writer.Len())
	}
	return nil
}

func vectorWriterTypeError(vec *vector) error {
	actual := typeName(vec.Type)
	if vec.isJSON {
		actual = aliasJSON
	}
	return fmt.Errorf("vector writer type mismatch: DuckDB %s cannot be written as Go string", actual)
}

// ckm: SetVectorValue writes val at row of a writable vector of any type
// (a scalar UDF's result vector) without boxing it in an interface, as
// SetChunkValue does for a chunk's column: a chunk executor writing
// TIMESTAMP, DATE or DECIMAL results per row had only SetResult (an any)
// or a RowExecutor, whose per-row boxing and copying cost more than the
// function itself (CKM-PATCH.md).
func SetVectorValue[T any](vector Vector, row int, val T) error {
	if vector.v == nil {
		return getError(errAPI, errUninitializedVectorWriter)
	}
	if row < 0 || row >= vector.logicalCount {
		return getError(errAPI, rowIndexError(row, vector.logicalCount))
	}
	// Valid unless val is NULL (setVectorVal then clears it), as
	// VectorWriter.Set does: the vector may hold an earlier chunk's NULLs.
	// The bit is set here, as getNull reads it, not by a cgo call per
	// value (duckdb_validity_set_row_validity: 14 % of the CPU of a
	// function writing a BOOLEAN per row).
	setValidBit(vector.v.maskPtr, mapping.IdxT(row))
	return setVectorVal(vector.v, mapping.IdxT(row), val)
}

// ckm: setValidBit marks row valid in a validity mask (one bit per row in
// uint64 entries, 1 = valid), as duckdb_validity_set_row_valid does; a
// writable vector's mask is never nil (initVectors makes it writable).
func setValidBit(mask unsafe.Pointer, row mapping.IdxT) {
	if mask == nil {
		return
	}
	entry := (*uint64)(unsafe.Add(mask, uintptr(row/64)*8))
	*entry |= 1 << (uint64(row) % 64)
}
