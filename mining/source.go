package mining

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/ckm-dev/ckm/engine"
)

// ErrEmpty is returned (wrapped) when an operator finds no purchases to work on.
var ErrEmpty = errors.New("no purchases")

// Source names the rows an operator reads: a table (or a SELECT) and the
// columns that play each role in it. Purchase operators read the durable
// customer id, the purchase time (a DATE or TIMESTAMP) and the amount,
// negative for returns; basket operators (association rules) read the
// basket (an order, or a customer), the item and an item attribute such as
// its category; learners read feature columns and a label. An operator
// names the roles it needs (Source.require) and the error names a missing
// one. The zero Source reads fact_sales(customer_id, order_ts, amount,
// cost_amount).
type Source struct {
	Table    string // table name, or a query starting with SELECT/WITH/FROM; "" means fact_sales
	Customer string // default customer_id
	Time     string // default order_ts
	Amount   string // default amount
	Cost     string // default cost_amount when Table is fact_sales; needed by Profit only
	Basket   string `json:"Basket,omitempty"`   // basket (order) id; default order_id
	Item     string `json:"Item,omitempty"`     // item id; default product_code
	Category string `json:"Category,omitempty"` // item attribute for category-level items; default category
	Features string `json:"Features,omitempty"` // feature columns of learners, comma-separated (Source stays comparable)
	Label    string `json:"Label,omitempty"`    // class label column of learners
}

// Role is a part a source column plays for an operator.
type Role string

// The roles of a Source's columns.
const (
	RoleCustomer Role = "customer"
	RoleTime     Role = "time"
	RoleAmount   Role = "amount"
	RoleCost     Role = "cost"
	RoleBasket   Role = "basket"
	RoleItem     Role = "item"
	RoleCategory Role = "category"
	RoleFeatures Role = "features"
	RoleLabel    Role = "label"
)

// FeatureColumns returns the feature columns (Features split at commas,
// spaces trimmed), or one "" when none is given.
func (s Source) FeatureColumns() []string {
	if strings.TrimSpace(s.Features) == "" {
		return []string{""}
	}
	cols := strings.Split(s.Features, ",")
	for i, c := range cols {
		cols[i] = strings.TrimSpace(c)
	}
	return cols
}

// purchaseRoles are the roles of the customer value operators.
var purchaseRoles = []Role{RoleCustomer, RoleTime, RoleAmount}

// columnsOf returns the columns given for a role (several for features).
func (s Source) columnsOf(r Role) []string {
	switch r {
	case RoleCustomer:
		return []string{s.Customer}
	case RoleTime:
		return []string{s.Time}
	case RoleAmount:
		return []string{s.Amount}
	case RoleCost:
		return []string{s.Cost}
	case RoleBasket:
		return []string{s.Basket}
	case RoleItem:
		return []string{s.Item}
	case RoleCategory:
		return []string{s.Category}
	case RoleLabel:
		return []string{s.Label}
	case RoleFeatures:
		return s.FeatureColumns()
	}
	return []string{""}
}

func (s Source) withDefaults() Source {
	if s.Table == "" {
		s.Table = "fact_sales"
		if s.Cost == "" {
			s.Cost = "cost_amount"
		}
	}
	if s.Customer == "" {
		s.Customer = "customer_id"
	}
	if s.Time == "" {
		s.Time = "order_ts"
	}
	if s.Amount == "" {
		s.Amount = "amount"
	}
	return s
}

func (s Source) isQuery() bool {
	t := strings.ToUpper(strings.TrimSpace(s.Table))
	return strings.HasPrefix(t, "SELECT") || strings.HasPrefix(t, "WITH") || strings.HasPrefix(t, "FROM") || strings.HasPrefix(t, "(")
}

func (s Source) relation() string {
	if s.isQuery() {
		return "(" + s.Table + ")"
	}
	parts := strings.Split(s.Table, ".")
	for i, p := range parts {
		parts[i] = engine.QuoteIdent(p)
	}
	return strings.Join(parts, ".")
}

func (s Source) name() string {
	if s.isQuery() {
		return "source query"
	}
	return "source table " + s.Table
}

// columns returns the column names of the source, or an error naming it.
func (s Source) columns(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx, "SELECT * FROM "+s.relation()+" AS src LIMIT 0")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.name(), err)
	}
	defer rows.Close()
	return rows.Columns()
}

// require verifies that the columns of the given roles are named and exist
// (case-insensitively, as in DuckDB), naming the missing one and the
// columns there are.
func (s Source) require(ctx context.Context, db *sql.DB, roles ...Role) error {
	cols, err := s.columns(ctx, db)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, c := range cols {
		have[strings.ToLower(c)] = true
	}
	for _, r := range roles {
		for _, col := range s.columnsOf(r) {
			if col == "" {
				return fmt.Errorf("%s: no %s column given (name it in the source, e.g. --%s-col)", s.name(), r, r)
			}
			if !have[strings.ToLower(col)] {
				sorted := append([]string(nil), cols...)
				sort.Strings(sorted)
				return fmt.Errorf("%s: unknown %s column %q (columns: %s)", s.name(), r, col, strings.Join(sorted, ", "))
			}
		}
	}
	return nil
}

// purchasesSQL returns a SELECT of the normalised purchase lines:
// customer_id BIGINT, day DATE, amount DECIMAL(18,2) (and cost when asked),
// without special members (negative ids) and rows without customer or date.
func (s Source) purchasesSQL(withCost bool) string {
	q := engine.QuoteIdent
	cols := fmt.Sprintf("CAST(%s AS BIGINT) AS customer_id, CAST(%s AS DATE) AS day, CAST(%s AS DECIMAL(18,2)) AS amount",
		q(s.Customer), q(s.Time), q(s.Amount))
	if withCost {
		cols += fmt.Sprintf(", CAST(coalesce(%s, 0) AS DECIMAL(18,2)) AS cost", q(s.Cost))
	}
	return fmt.Sprintf("SELECT %s FROM %s AS src WHERE %s IS NOT NULL AND %s IS NOT NULL AND CAST(%s AS BIGINT) >= 0",
		cols, s.relation(), q(s.Customer), q(s.Time), q(s.Customer))
}

// lineage returns the ETL runs whose rows the source holds (for fact tables
// with an etl_run_id column), else every committed run up to the data
// version, as a comma-separated list.
func (s Source) lineage(ctx context.Context, db *sql.DB) (string, error) {
	cols, err := s.columns(ctx, db)
	if err != nil {
		return "", err
	}
	query := `SELECT run_id FROM etl_run WHERE status = 'committed' ORDER BY run_id`
	for _, c := range cols {
		if strings.EqualFold(c, "etl_run_id") {
			query = "SELECT DISTINCT etl_run_id FROM " + s.relation() + " AS src WHERE etl_run_id IS NOT NULL ORDER BY 1"
		}
	}
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return "", fmt.Errorf("lineage: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return "", fmt.Errorf("lineage: %w", err)
		}
		ids = append(ids, strconv.FormatInt(id, 10))
	}
	return strings.Join(ids, ","), rows.Err()
}
