package clean

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/duckdb/duckdb-go/v2"
)

// Register registers ckm's cleaning functions as DuckDB scalar functions on
// conn's database (they are then visible to every connection). Use it
// once per database, e.g. w.Setup(ctx, "clean", clean.Register).
//
// Every function takes one VARCHAR. None fails on bad data: a value the
// cleaner rejects gives NULL, and the *_problem functions say why (the rule
// name, or NULL when the value is fine). NULL in gives NULL out, except
// that ckm_date_problem, ckm_timestamp_problem and ckm_amount_problem give
// date_missing / amount_missing for NULL as for a blank value, because those
// values are required where they are used.
//
//	ckm_id_normalize(v)   VARCHAR   18-character ID, or NULL
//	ckm_id_problem(v)     VARCHAR   id_invalid / id_checksum, NULL if valid or blank
//	ckm_id_birth(v)       DATE      birth date encoded in a valid ID
//	ckm_id_sex(v)         VARCHAR   'M' or 'F' from a valid ID
//	ckm_id_region(v)      VARCHAR   6-digit region code of a valid ID
//	ckm_mobile(v)         VARCHAR   E.164 +86…, or NULL
//	ckm_mobile_problem(v) VARCHAR   mobile_invalid, NULL if valid or blank
//	ckm_email(v)          VARCHAR   normalised email, or NULL
//	ckm_email_problem(v)  VARCHAR   email_invalid, NULL if valid or blank
//	ckm_date(v)           DATE
//	ckm_date_problem(v)   VARCHAR   date_invalid / date_missing
//	ckm_timestamp(v)      TIMESTAMP China wall-clock time
//	ckm_timestamp_problem(v) VARCHAR date_invalid / date_missing
//	ckm_amount(v)         DECIMAL(18,2)
//	ckm_amount_text(v)    VARCHAR   "1299.00"
//	ckm_amount_problem(v) VARCHAR   amount_invalid / amount_missing
//	ckm_text(v)           VARCHAR   Text
//	ckm_header_key(v)     VARCHAR   HeaderKey
//
// The masks of personal data are not here: they are package privacy's, in
// SQL the ckm_mask_* macros of the schema.
// The ID functions compare birth dates with today's date, so they are
// stable within a query but not across midnight; DuckDB treats them as
// deterministic (not volatile), which only lets it fold constant calls.
func Register(ctx context.Context, conn *sql.Conn) error {
	funcs, err := scalarFuncs()
	if err != nil {
		return fmt.Errorf("register cleaning functions: %w", err)
	}
	for _, f := range funcs {
		if err := duckdb.RegisterScalarUDF(conn, f.name, f.fn); err != nil {
			return fmt.Errorf("register %s: %w", f.name, err)
		}
	}
	return ctx.Err()
}

type namedFunc struct {
	name string
	fn   duckdb.ScalarFunc
}

func scalarFuncs() ([]namedFunc, error) {
	varchar, err := duckdb.NewTypeInfo(duckdb.TYPE_VARCHAR)
	if err != nil {
		return nil, err
	}
	dateType, err := duckdb.NewTypeInfo(duckdb.TYPE_DATE)
	if err != nil {
		return nil, err
	}
	tsType, err := duckdb.NewTypeInfo(duckdb.TYPE_TIMESTAMP)
	if err != nil {
		return nil, err
	}
	decType, err := duckdb.NewDecimalInfo(18, 2)
	if err != nil {
		return nil, err
	}
	text := func(name string, fn func(string) (string, bool)) namedFunc {
		return namedFunc{name, &chunkUDF[string]{in: varchar, out: varchar, fn: fn}}
	}
	problem := func(name string, fn func(string) error, required bool) namedFunc {
		u := &chunkUDF[string]{in: varchar, out: varchar, fn: func(s string) (string, bool) {
			err := fn(s)
			if err == nil {
				return "", false
			}
			if e, ok := err.(*Error); ok && e.Blank() && !required {
				return "", false
			}
			return RuleOf(err), true
		}}
		if required {
			// NULL is as missing as a blank string.
			missing := RuleOf(fn(""))
			u.onNull = &missing
		}
		return namedFunc{name, u}
	}
	typed := func(name string, typ duckdb.TypeInfo, fn func(string) (time.Time, bool)) namedFunc {
		return namedFunc{name, &chunkUDF[time.Time]{in: varchar, out: typ, fn: fn}}
	}
	validID := func(s string) (ID, bool) {
		id, err := ResidentID(s)
		return id, err == nil
	}
	return []namedFunc{
		text("ckm_id_normalize", func(s string) (string, bool) {
			id, ok := validID(s)
			return id.Number, ok
		}),
		problem("ckm_id_problem", func(s string) error { _, err := ResidentID(s); return err }, false),
		typed("ckm_id_birth", dateType, func(s string) (time.Time, bool) {
			id, ok := validID(s)
			return id.Birth, ok
		}),
		text("ckm_id_sex", func(s string) (string, bool) {
			id, ok := validID(s)
			return string(id.Sex), ok
		}),
		text("ckm_id_region", func(s string) (string, bool) {
			id, ok := validID(s)
			return id.RegionCode, ok
		}),
		text("ckm_mobile", okString(Mobile)),
		problem("ckm_mobile_problem", func(s string) error { _, err := Mobile(s); return err }, false),
		text("ckm_email", okString(Email)),
		problem("ckm_email_problem", func(s string) error { _, err := Email(s); return err }, false),
		typed("ckm_date", dateType, okTime(Date)),
		problem("ckm_date_problem", func(s string) error { _, err := Date(s); return err }, true),
		typed("ckm_timestamp", tsType, okTime(Timestamp)),
		problem("ckm_timestamp_problem", func(s string) error { _, err := Timestamp(s); return err }, true),
		{"ckm_amount", &chunkUDF[int64]{in: varchar, out: decType, fn: func(s string) (int64, bool) {
			d, err := Amount(s)
			return d.Cents(), err == nil // DECIMAL(18,2) is stored as an int64 of hundredths
		}}},
		text("ckm_amount_text", func(s string) (string, bool) {
			d, err := Amount(s)
			if err != nil {
				return "", false
			}
			return d.String(), true
		}),
		problem("ckm_amount_problem", func(s string) error { _, err := Amount(s); return err }, true),
		text("ckm_text", func(s string) (string, bool) { return Text(s), true }),
		text("ckm_header_key", func(s string) (string, bool) { return HeaderKey(s), true }),
	}, nil
}

func okString(f func(string) (string, error)) func(string) (string, bool) {
	return func(s string) (string, bool) {
		v, err := f(s)
		return v, err == nil
	}
}

func okTime(f func(string) (time.Time, error)) func(string) (time.Time, bool) {
	return func(s string) (time.Time, bool) {
		t, err := f(s)
		return t, err == nil
	}
}

// chunkUDF is a function of one VARCHAR run over whole vectors: it reads
// the input strings in place and writes typed results (SetVectorValue) —
// T is string for VARCHAR, time.Time for DATE and TIMESTAMP, int64
// hundredths for DECIMAL(18,2). fn returns false for NULL; onNull, when
// set, is the result for a NULL input (special NULL handling). Row by row,
// with duckdb-go's RowExecutor boxing every argument and result,
// ckm_timestamp took 250–435 ns a value, most of it the boxing.
type chunkUDF[T any] struct {
	in, out duckdb.TypeInfo
	fn      func(string) (T, bool)
	onNull  *T
}

func (u *chunkUDF[T]) Config() duckdb.ScalarFuncConfig {
	return duckdb.ScalarFuncConfig{
		InputTypeInfos:      []duckdb.TypeInfo{u.in},
		ResultTypeInfo:      u.out,
		SpecialNullHandling: u.onNull != nil,
	}
}

func (u *chunkUDF[T]) Executor() duckdb.ScalarFuncExecutor {
	return duckdb.ScalarFuncExecutor{ChunkContextExecutor: u.run, ScalarBinder: BindContext}
}

// BindContext hands a chunk function its query's context at bind time
// (etl's identity graph functions use it too).
// Without a binder, duckdb-go (v2.10506.0, scalarFuncContext.setCtx) stores
// the context into the bind data on the first chunk of every thread that
// runs the function, unsynchronised: a thread reading it while another
// writes it saw half an interface and crashed the process (seen once in CI:
// a nil *backgroundCtx in setCtx under a parallel load). With one set at
// bind, which runs once per query, the threads only read it.
func BindContext(parent context.Context, _ []duckdb.ScalarUDFArg) (context.Context, error) {
	if parent == nil {
		return context.Background(), nil
	}
	return parent, nil
}

func (u *chunkUDF[T]) run(_ context.Context, state *duckdb.ChunkIteratorState) error {
	vec, err := state.GetInputChunk().GetVector(0)
	if err != nil {
		return err
	}
	in, err := duckdb.GetVectorView[string](vec)
	if err != nil {
		return err
	}
	out := state.GetResultVector()
	for row := range in.Len() {
		s, valid, err := in.GetValueBorrowed(row)
		if err != nil {
			return err
		}
		if !valid {
			if u.onNull == nil {
				continue // DuckDB's default NULL handling sets NULL after the call
			}
			err = duckdb.SetVectorValue(out, row, *u.onNull)
		} else if v, ok := u.fn(s); ok {
			err = duckdb.SetVectorValue(out, row, v)
		} else {
			err = duckdb.SetVectorValue[any](out, row, nil)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
