package olap

import (
	"context"
	"testing"

	"github.com/ckm-dev/ckm/engine"
)

// smallWarehouse is a migrated in-memory warehouse with a few hand-made
// sales, interactions and campaign rows whose answers can be checked by hand.
func smallWarehouse(t testing.TB) *engine.Warehouse {
	t.Helper()
	return smallWarehouseAt(t, "")
}

// smallWarehouseAt is smallWarehouse in the file at path ("" in memory).
func smallWarehouseAt(t testing.TB, path string) *engine.Warehouse {
	t.Helper()
	ctx := context.Background()
	w, err := engine.Open(ctx, path, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	stmts := []string{
		`INSERT INTO dim_region (region_key, region_code, level, province_code, province, city_code, city, county_code, county) VALUES
			(1, '440106', 'county', '440000', 'Guangdong', '440100', 'Guangzhou', '440106', 'Tianhe'),
			(2, '440104', 'county', '440000', 'Guangdong', '440100', 'Guangzhou', '440104', 'Yuexiu'),
			(3, '440305', 'county', '440000', 'Guangdong', '440300', 'Shenzhen', '440305', 'Nanshan'),
			(4, '330106', 'county', '330000', 'Zhejiang', '330100', 'Hangzhou', '330106', 'Xihu')`,
		`INSERT INTO dim_product (product_key, product_code, product_name, category, subcategory, brand, cost, list_price) VALUES
			(1, 'P1', 'Green tea 250g', 'Food', 'Tea', 'Longjing', 20, 40),
			(2, 'P2', 'Black tea 250g', 'Food', 'Tea', 'Dianhong', 18, 35),
			(3, 'P3', 'Rice 5kg', 'Food', 'Grain', 'Wuchang', 30, 45),
			(4, 'P4', 'Kettle', 'Home', 'Kitchen', 'Midea', 80, 150)`,
		`INSERT INTO dim_customer (customer_key, customer_id, id_number, name, sex, mobile, email, region_key, customer_type, member_level, valid_from, valid_to, is_current) VALUES
			(1, 101, '440106199001011234', 'Li Lei', 'M', '+8613812345678', 'lilei@example.cn', 1, 'current', 'gold', '2020-01-01', '9999-12-31', true),
			(2, 102, NULL, 'Han Meimei', 'F', '+8613987654321', 'hmm@example.cn', 3, 'current', 'silver', '2020-01-01', '2024-01-01', false),
			(3, 102, NULL, 'Han Meimei', 'F', '+8613987654321', 'hmm@example.cn', 3, 'current', 'gold', '2024-01-01', '9999-12-31', true),
			(4, 103, NULL, 'Wang Fang', 'F', NULL, NULL, 4, 'potential', 'none', '2020-01-01', '9999-12-31', true),
			(5, 104, NULL, 'Zhao Qiang', 'M', '+8615011112222', NULL, 2, 'distributor', 'silver', '2020-01-01', '9999-12-31', true)`,
		// 2023-12 and 2024 Q1/Q2 sales over two provinces; customer 101 buys
		// in several cities, so distinct customers do not add up.
		`INSERT INTO fact_sales (order_id, line_no, date_key, customer_key, customer_id, product_key, channel_key, store_key, region_key, quantity, unit_price, amount, cost_amount, is_return) VALUES
			('O1', 1, 20231230, 1, 101, 1, 1, -1, 1, 2, 40, 80.00, 40.00, false),
			('O1', 2, 20231230, 1, 101, 3, 1, -1, 1, 1, 45, 45.00, 30.00, false),
			('O2', 1, 20231231, 2, 102, 4, 2, -1, 3, 1, 150, 150.00, 80.00, false),
			('O3', 1, 20240105, 1, 101, 2, 1, -1, 2, 3, 35, 105.00, 54.00, false),
			('O4', 1, 20240105, 3, 102, 1, 2, -1, 3, 1, 40, 40.00, 20.00, false),
			('O5', 1, 20240120, 4, 103, 4, 1, -1, 4, 2, 150, 300.00, 160.00, false),
			('O6', 1, 20240131, 1, 101, 3, 1, -1, 3, 1, 45, 45.00, 30.00, false),
			('O6', 2, 20240131, 1, 101, 1, 1, -1, 3, 1, 40, 40.00, 20.00, false),
			('O7', 1, 20240131, 5, 104, 2, 3, -1, 2, 10, 30, 300.00, 180.00, false),
			('O8', 1, 20240214, 4, 103, 1, 2, -1, 4, 1, 40, 40.00, 20.00, false),
			('O9', 1, 20240301, 3, 102, 4, 2, -1, 1, -1, 150, -150.00, -80.00, true),
			('O10', 1, 20240415, 5, 104, 3, 3, -1, 2, 4, 45, 180.00, 120.00, false),
			('O11', 1, 20240415, 1, 101, 4, 1, -1, 1, 1, 150, 150.00, 80.00, false),
			('O12', 1, 20240530, 4, 103, 2, 2, -1, 4, 2, 35, 70.00, 36.00, false),
			('O13', 1, 20240530, 3, 102, 3, 1, -1, 3, 2, 45, 90.00, 60.00, false),
			('O14', 1, 20240530, 1, 101, 1, 1, -1, 4, 1, 40, 40.00, 20.00, false)`,
		`INSERT INTO fact_interaction (interaction_id, date_key, customer_key, customer_id, channel_key, salesperson_key, category, satisfaction, duration_seconds) VALUES
			('I1', 20240105, 1, 101, 3, -1, 'complaint', 1, 300),
			('I2', 20240106, 3, 102, 3, -1, 'question', 4, 120),
			('I3', 20240210, 1, 101, 3, -1, 'question', 5, 60),
			('I4', 20240211, 4, 103, 3, -1, 'complaint', 2, 600),
			('I5', 20240212, -1, -1, 3, -1, 'question', 3, 90)`, // an unknown caller: a contact, not a customer
		`INSERT INTO dim_campaign (campaign_key, campaign_code, campaign_name, channel, start_date, end_date, cost) VALUES
			(1, 'C1', 'Spring tea', 'sms', '2024-03-01', '2024-03-31', 1000)`,
		`INSERT INTO fact_campaign (campaign_key, date_key, customer_key, customer_id, channel_key, targeted, responded, response_date_key, revenue) VALUES
			(1, 20240301, 1, 101, 5, true, true, 20240305, 80.00),
			(1, 20240301, 3, 102, 5, true, false, -2, 0.00),
			(1, 20240301, 4, 103, 5, true, true, 20240310, 40.00)`,
	}
	for _, s := range stmts {
		if _, err := w.DB.ExecContext(ctx, s); err != nil {
			t.Fatalf("%v\n%s", err, s)
		}
	}
	return w
}

func builtinCube(t testing.TB, name string) *Cube {
	t.Helper()
	m, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	c, err := m.Cube(name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestBuiltinCubesValidate(t *testing.T) {
	w := smallWarehouse(t)
	for _, name := range []string{"sales", "interactions", "campaigns"} {
		t.Run(name, func(t *testing.T) {
			if err := Validate(context.Background(), w.DB, builtinCube(t, name)); err != nil {
				t.Fatal(err)
			}
		})
	}
}
