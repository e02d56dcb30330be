package engine

import (
	"context"
	"fmt"
	"time"
)

// The dim_customer side of merging and splitting customers (the rows they
// move are the caller's, etl's): what each merge or split changes in the
// versions is recorded in etl_customer_merge_version, so
// RestoreCustomerVersions puts them back exactly.

// CloseMergedCustomers closes the current version of each customer merged
// away: moves is a table (or parenthesised SELECT) of (merge_id,
// from_customer). The version ends at the merge date at (a second after it
// starts, when it starts later), so the survivor's is the one current
// version left; the merged-away versions stay as that customer's history.
func CloseMergedCustomers(ctx context.Context, q Querier, moves string, at time.Time) error {
	if _, err := q.ExecContext(ctx, `INSERT INTO etl_customer_merge_version
		SELECT m.merge_id, d.customer_key, d.valid_to, d.is_current, false
		FROM dim_customer d JOIN `+moves+` m ON d.customer_id = m.from_customer WHERE d.is_current`); err != nil {
		return fmt.Errorf("close merged customers: %w", err)
	}
	if _, err := q.ExecContext(ctx, `UPDATE dim_customer SET valid_to = greatest(CAST(? AS TIMESTAMP), valid_from + INTERVAL 1 SECOND), is_current = false
		WHERE is_current AND customer_id IN (SELECT from_customer FROM `+moves+`)`, at); err != nil {
		return fmt.Errorf("close merged customers: %w", err)
	}
	return nil
}

// AddSplitCustomer gives customer id, split off customer from by merge
// mergeID, its first version: one version over all time, current, with the
// ID number, mobile and e-mail of the keys etl_identity holds for it and
// from's source systems; its other attributes come with its next CRM
// record (values known from at).
func AddSplitCustomer(ctx context.Context, q Querier, mergeID, id, from int64, at time.Time, runID int64) error {
	if _, err := q.ExecContext(ctx, `INSERT INTO dim_customer (customer_key, customer_id, id_number, mobile, email, region_key, source_systems,
			valid_from, valid_to, is_current, effective_from, etl_run_id)
		SELECT (SELECT greatest(coalesce(max(customer_key), 0), 0) FROM dim_customer) + 1, ?,
			max(key_value) FILTER (WHERE key_type = 'id_number'), max(key_value) FILTER (WHERE key_type = 'mobile'),
			max(key_value) FILTER (WHERE key_type = 'email'), -1,
			(SELECT any_value(source_systems) FROM dim_customer WHERE customer_id = ? AND is_current),
			`+HistoryStart+`, `+HistoryEnd+`, true, ?, ?
		FROM etl_identity WHERE customer_id = ?`, id, from, at, runID, id); err != nil {
		return fmt.Errorf("add split customer %d: %w", id, err)
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO etl_customer_merge_version
		SELECT ?, customer_key, valid_to, is_current, true FROM dim_customer WHERE customer_id = ?`, mergeID, id); err != nil {
		return fmt.Errorf("add split customer %d: %w", id, err)
	}
	return nil
}

// RestoreCustomerVersions undoes what merge mergeID did to dim_customer:
// the versions it closed end and are current as before, the version it
// added is gone.
func RestoreCustomerVersions(ctx context.Context, q Querier, mergeID int64) error {
	if _, err := q.ExecContext(ctx, `UPDATE dim_customer SET valid_to = v.valid_to, is_current = v.is_current
		FROM etl_customer_merge_version v WHERE v.merge_id = ? AND NOT v.inserted AND dim_customer.customer_key = v.customer_key`, mergeID); err != nil {
		return fmt.Errorf("restore versions of merge %d: %w", mergeID, err)
	}
	if _, err := q.ExecContext(ctx, `DELETE FROM dim_customer WHERE customer_key IN
		(SELECT customer_key FROM etl_customer_merge_version WHERE merge_id = ? AND inserted)`, mergeID); err != nil {
		return fmt.Errorf("restore versions of merge %d: %w", mergeID, err)
	}
	return nil
}
