package etl

import (
	"fmt"
	"strconv"
	"strings"
)

// recID is SQL for the record id of a staged row: file and line.
var recID = recIDOf("")

// maxIdentityRounds bounds label propagation; each round crosses one record.
const maxIdentityRounds = 64

// resolveIdentity unifies customers across channels. Every normalised
// identifier (member card, resident ID, E.164 mobile, email, the source
// system's own customer id scoped by channel) of every
// accepted customer-creating record is a node; a record connects its
// identifiers; each connected component is one customer — but not every
// identifier may connect (identity_rules.go):
//
//   - strong keys (card, valid ID number, the source's customer id) always link, and so do two ID
//     numbers that IdentityRules.IDTypo accepts as one (one digit apart on
//     records sharing a mobile or e-mail, with name, birth date and region
//     agreeing);
//   - a weak key (mobile, e-mail) links unless it is conflicted: records
//     carrying it belong to two strong components with different ID numbers
//     (a household's shared number, a recycled one). A record whose only
//     keys are conflicted joins the holder whose time with that key is
//     nearest its own (time-aware), within MaxGapDays.
//
// Components that meet identifiers seen in earlier runs keep that customer
// id (the smallest one if they meet several), so ids are stable across
// incremental loads; new components get new ids in a deterministic order.
func (l *loader) resolveIdentity() error {
	rules := l.opts.Identity.withDefaults()
	records, links := identityGraphSQL(tsLiteral(l.opts.AsOf), rules, l.sharedLines("file_id"))
	if err := l.execAll("identity", records); err != nil {
		return err
	}
	// What earlier loads resolved joins the graph (identity_prior.go).
	strongless, err := l.addPriorRecords()
	if err != nil {
		return err
	}
	if strongless {
		if err := l.labelStrongless(links[0]); err != nil {
			return err
		}
	} else {
		if err := l.execAll("identity", append([]string{l.identityKeySQL()}, links...)); err != nil {
			return err
		}
		// Strong components: cards, ID numbers and accepted ID typos.
		if err := l.execAll("identity", strongPhaseSQL()); err != nil {
			return err
		}
		if err := l.propagateLabels(); err != nil {
			return err
		}
		// Weak keys that would join two ID-bearing components are conflicted;
		// the others link.
		if err := l.execAll("identity", acceptedPhaseSQL()); err != nil {
			return err
		}
		if err := l.cutChains(); err != nil {
			return err
		}
		if err := l.labelOrphans(rules); err != nil {
			return err
		}
	}
	if err := l.assignCustomers(strongless); err != nil {
		return err
	}
	// Where the earlier records brought in now belong (identity_reresolve.go):
	// nowhere new when no earlier customer holds a key of the load (no
	// earlier record, no soft key: applyReresolution has nothing to move).
	if !l.noPrior {
		if err := l.execAll("identity", reresolvePlanSQL()); err != nil {
			return err
		}
	}
	// A strongless graph has no conflict, ID typo or chain to report.
	if !strongless {
		if err := l.reportConflicts(); err != nil {
			return err
		}
	}
	// The records are final: their channels are read once, for
	// identity_link's and the customers' channel masks.
	cs, err := l.readChannels()
	if err != nil {
		return err
	}
	l.channels = cs
	link := identityLinkSQL(l.runID, cs)
	if strongless {
		link = stronglessLinkSQL(l.runID, cs)
	}
	if err := l.execAll("identity", []string{link, l.recordKeySQL()}); err != nil {
		return err
	}
	if err := l.sealValues(); err != nil {
		return err
	}
	if l.opts.AfterIdentity != nil {
		return l.opts.AfterIdentity(l.ctx, l.tx)
	}
	return nil
}

// multiRowFiles tells which files' staged lines may have several rows:
// all of them (all: a raw, joined or re-read file is staged in SQL, where
// lines cannot be told file by file, or the full path is asked for), or
// the JSON files' (ids).
func (l *loader) multiRowFiles() (all bool, ids []string) {
	if l.opts.everyStep || len(l.raws) > 0 || len(l.refs) > 0 {
		return true, nil
	}
	for _, j := range l.jobs {
		if j.m.raw() || j.m.joinOf != nil || len(j.m.Joins) > 0 {
			return true, nil
		}
		switch j.Format {
		case "ndjson", "json":
			ids = append(ids, strconv.FormatInt(j.FileID, 10))
		}
	}
	return false, ids
}

// sharedLines is SQL for a condition on a file id (col) that holds for the
// files whose staged lines may have several rows (multiRowFiles): "false"
// when every line is one row, "true" when all may, else col
// IN (the load's JSON files). Where one JSON export of web orders came
// with the till exports, every statement that makes the lines distinct
// made the tills' millions distinct too, though each of their lines is
// one row already: sharedRows keeps the DISTINCT for the JSON files' rows
// (the fact lines the load's checks count), and identity groups the JSON
// files' rows by line before it groups lines into records (id_src).
func (l *loader) sharedLines(col string) string {
	all, ids := l.multiRowFiles()
	switch {
	case all:
		return "true"
	case len(ids) == 0:
		return "false"
	}
	return col + " IN (" + strings.Join(ids, ", ") + ")"
}

// factsUnion joins the parts of the load's closing counts, one per fact
// table or target: each part's lines are of its own files and distinct
// within it (sharedRows), so UNION ALL — unless files are staged in SQL
// or the full path is asked for (multiRowFiles' all), whose lines only a
// UNION makes distinct.
func (l *loader) factsUnion() string {
	if all, _ := l.multiRowFiles(); all {
		return "\n\tUNION "
	}
	return "\n\tUNION ALL "
}

// sharedRows is SQL selecting list from from (and where, unless ""),
// made distinct for the rows of files whose lines may have several rows
// (sharedLines of fileCol) and taken as they are for the others.
func (l *loader) sharedRows(list, from, where, fileCol string) string {
	and := func(c string) string {
		if where == "" {
			return " WHERE " + c
		}
		return " WHERE (" + where + ") AND " + c
	}
	plain := " FROM " + from
	if where != "" {
		plain += " WHERE " + where
	}
	switch c := l.sharedLines(fileCol); c {
	case "false":
		return "SELECT " + list + plain
	case "true":
		return "SELECT DISTINCT " + list + plain
	default:
		return "SELECT DISTINCT " + list + " FROM " + from + and(c) +
			" UNION ALL SELECT " + list + " FROM " + from + and("NOT ("+c+")")
	}
}

// execAll runs queries in order as one step.
func (l *loader) execAll(step string, queries []string) error {
	for _, q := range queries {
		if err := l.exec(step, q); err != nil {
			return err
		}
	}
	return nil
}

// groupSales lets identity group sales lines into records
// (identityGraphSQL); tests turn it off to compare with a record per line.
var groupSales = true

// identityGraphSQL builds the identifier graph in two parts: records
// (the records of the load, with their time and, for CRM rows, the
// evidence an ID typo is checked against) and their identifiers (the
// edges), run before the prior records join them; then links, run after
// identityKeySQL has given each identifier its id: each record's key ids
// and the pairs of ID numbers accepted as one person's. asOf is the time
// of a CRM row without a change date (it tells who holds a number now).
//
// A record is a CRM row, or a group of sales lines: the lines carrying
// the same keys in the same channel, region and store are one record (the
// items of a JSON order line are of one line, so of one group). The rules
// that read a record's time read the group's span: its first line's time
// (t_from, t_first) and its last's (t), with how many lines it has (n) and
// which (id_member: each line's record id and its group's, the least of
// its lines' ids; a list of them per group, as before, is an aggregate
// state DuckDB cannot spill, and four times the bench set ran out of a
// 1 GB memory limit there). Only a record whose keys are all conflicted
// (mobiles or e-mails only, all refused) is judged by its own time (orphanSQL): such a group
// is split into its lines first (splitOrphanGroupsSQL). A million-line
// plain export of 50,000 members is ~50,000 records instead of a million;
// the 5 M-line fixture set's web orders by mobile or e-mail group too.
// Every table of the graph, the labels and the explanations are made of
// those. What is kept per line, id_rec and etl_record_key, is expanded
// through id_member (expandRecSQL, sourceRecs).
func identityGraphSQL(asOf string, rules IdentityRules, shared string) (records, links []string) {
	// The lines: one row each. A line whose items may have several rows
	// (sharedLines) is grouped by its record id first; every other line is
	// one row already, and a GROUP BY of every line cost more than that of
	// the few (a DISTINCT in the aggregate, count and list, ~15 s at 5 M
	// lines with the web orders' JSON).
	line := `SELECT ` + recID + ` AS rec, card, idn, mobile_v, email_v, cref, ts_v, channel, CAST(region_v AS VARCHAR) AS region_s, store_v AS store_s FROM ok_sales`
	items := `SELECT rec, any_value(card) AS card, any_value(idn) AS idn, any_value(mobile_v) AS mobile_v, any_value(email_v) AS email_v,
				any_value(cref) AS cref, min(ts_v) AS ts_v, any_value(channel) AS channel, any_value(region_s) AS region_s, any_value(store_s) AS store_s
			FROM (` + line + ` WHERE %s) GROUP BY rec`
	lines := line
	switch shared {
	case "false":
	case "true":
		lines = fmt.Sprintf(items, "true")
	default:
		lines = line + ` WHERE NOT (` + shared + `) UNION ALL ` + fmt.Sprintf(items, shared)
	}
	single := "NULL"
	if !groupSales {
		single = "rec"
	}
	records = []string{
		`CREATE OR REPLACE TEMP TABLE id_src AS
		SELECT ` + recID + ` AS rec, card, idn, mobile_v, email_v, cref, coalesce(changed_v, ` + asOf + `) AS t,
			least(coalesce(CAST(registered_v AS TIMESTAMP), changed_v, ` + asOf + `), coalesce(changed_v, ` + asOf + `)) AS t_from, channel,
			` + nameKeySQL("name_v") + ` AS name_key, birth_in, region_in, CAST(NULL AS VARCHAR) AS region_s, CAST(NULL AS VARCHAR) AS store_s,
			coalesce(changed_v, ` + asOf + `) AS t_first, CAST(1 AS BIGINT) AS n, false AS sales FROM ok_customers
		UNION ALL
		SELECT min(rec), card, idn, mobile_v, email_v, cref, max(ts_v), min(ts_v), channel, NULL, NULL, NULL, region_s, store_s,
			min(ts_v), count(*), true FROM (SELECT *, ` + single + ` AS single FROM (` + lines + `))
		GROUP BY ` + strings.Join(salesGroupColumns, ", ") + `, single`,
		memberSQL(lines),
		// One row per record, so one edge per record and key type.
		`CREATE OR REPLACE TEMP TABLE id_edge AS
		SELECT rec, key_type, key_value FROM (
			SELECT rec, 'member_card' AS key_type, card AS key_value FROM id_src WHERE card IS NOT NULL
			UNION ALL SELECT rec, 'id_number', idn FROM id_src WHERE idn IS NOT NULL
			UNION ALL SELECT rec, 'mobile', mobile_v FROM id_src WHERE mobile_v IS NOT NULL
			UNION ALL SELECT rec, 'email', email_v FROM id_src WHERE email_v IS NOT NULL
			UNION ALL SELECT rec, 'customer_ref', cref FROM id_src WHERE cref IS NOT NULL)`,
	}
	links = []string{
		`CREATE OR REPLACE TEMP TABLE id_rk_all AS SELECT e.rec, k.kid, k.weak FROM id_edge e JOIN id_key k USING (key_type, key_value)`,
		idTypoSQL(rules),
	}
	return records, links
}

// memberSQL makes id_member: each sales line of the load (lines) with its
// record of id_src (grp), found by a join on the columns the lines were
// grouped by — a hash join, which DuckDB spills, where a list of each
// group's lines was an aggregate state it cannot. A group's columns are
// distinct, NULL matching NULL, so each line finds one group: its own.
// With groupSales off every line is its own record.
func memberSQL(lines string) string {
	if !groupSales {
		return `CREATE OR REPLACE TEMP TABLE id_member AS SELECT rec AS line, rec AS grp FROM (` + lines + `)`
	}
	on := make([]string, 0, len(salesGroupColumns))
	for _, c := range salesGroupColumns {
		on = append(on, "l."+c+" IS NOT DISTINCT FROM s."+c)
	}
	return `CREATE OR REPLACE TEMP TABLE id_member AS
		SELECT l.rec AS line, s.rec AS grp FROM (` + lines + `) l JOIN id_src s ON s.sales AND ` + strings.Join(on, " AND ")
}

// salesGroupColumns are the columns identity groups a load's sales lines
// by into records (identityGraphSQL; with single, which is each line's own
// id when groupSales is off).
var salesGroupColumns = []string{"card", "idn", "mobile_v", "email_v", "cref", "channel", "region_s", "store_s"}

// identityKeySQL makes id_key: one id per identifier of the graph
// (id_edge), numbered in key order, weak for mobiles and e-mails. The
// identifiers of the load's own records are id_ltok's (made of id_edge
// before the prior and earlier records joined it, identity_prior.go); only
// those the prior and earlier records (negative record ids) bring besides
// are looked for in id_edge, instead of making every edge distinct again.
// On a protected warehouse each key keeps id_ltok's token (ltok; NULL for
// the others), so id_tok needs no join (identityTokenSQL). The full path
// (everyStep) makes id_key of every distinct edge of id_edge.
func (l *loader) identityKeySQL() string {
	if l.opts.everyStep {
		return `CREATE OR REPLACE TEMP TABLE id_key AS
		SELECT key_type, key_value, row_number() OVER (ORDER BY key_type, key_value) AS kid,
			key_type IN ('mobile', 'email') AS weak
		FROM (SELECT DISTINCT key_type, key_value FROM id_edge)`
	}
	ltok := ""
	if l.opts.Vault != nil {
		ltok = ", ltok"
	}
	return `CREATE OR REPLACE TEMP TABLE id_key AS
		SELECT key_type, key_value, row_number() OVER (ORDER BY key_type, key_value) AS kid,
			key_type IN ('mobile', 'email') AS weak` + ltok + `
		FROM (SELECT key_type, key_value, tok AS ltok FROM id_ltok
			UNION ALL
			SELECT DISTINCT e.key_type, e.key_value, NULL FROM id_edge e ANTI JOIN id_ltok t USING (key_type, key_value) WHERE e.rec < 0)`
}

// strongPhaseSQL sets up label propagation over the strong keys and the
// accepted ID typos (an edge from each record with the mistyped ID to the
// key of the other).
func strongPhaseSQL() []string {
	return []string{
		`CREATE OR REPLACE TEMP TABLE id_rk_strong AS
		SELECT rec, kid FROM id_rk_all WHERE NOT weak
		UNION
		SELECT e.rec, k.kid FROM id_typo a
		JOIN id_edge e ON e.key_type = 'id_number' AND e.key_value = a.id_b
		JOIN id_key k ON k.key_type = 'id_number' AND k.key_value = a.id_a`,
		propagationEdges("id_rk_strong"),
	}
}

// propagationEdges is SQL that makes id_rk the edges of the records of
// table (rec, kid) carrying two or more keys: only those connect anything;
// most till and web records carry one, so labels propagate over the few
// that link (CRM rows, web orders with mobile and email).
func propagationEdges(table string) string {
	return `CREATE OR REPLACE TEMP TABLE id_rk AS SELECT rec, kid FROM ` + table + `
		WHERE rec IN (SELECT rec FROM ` + table + ` GROUP BY rec HAVING count(*) > 1)`
}

// acceptedPhaseSQL records each record's strong component and finds the
// conflicted weak keys: held directly by two ID-bearing components.
func acceptedPhaseSQL() []string {
	return []string{
		`CREATE OR REPLACE TEMP TABLE id_srl AS
		SELECT s.rec, min(l.lab) AS slab FROM id_rk_strong s JOIN id_lab l USING (kid) GROUP BY s.rec`,
		// Strong components holding an ID number.
		`CREATE OR REPLACE TEMP TABLE id_sid AS
		SELECT DISTINCT r.slab FROM id_srl r JOIN id_src s USING (rec) WHERE s.idn IS NOT NULL`,
		`CREATE OR REPLACE TEMP TABLE id_conflict AS
		SELECT e.kid FROM id_rk_all e JOIN id_srl r USING (rec) SEMI JOIN id_sid USING (slab)
		WHERE e.weak GROUP BY e.kid HAVING count(DISTINCT r.slab) > 1`,
		// The ID-bearing strong components holding each weak key directly.
		`CREATE OR REPLACE TEMP TABLE id_kh AS
		SELECT DISTINCT e.kid, r.slab FROM id_rk_all e JOIN id_srl r USING (rec) SEMI JOIN id_sid USING (slab) WHERE e.weak`,
	}
}

// acceptedEdgesSQL sets up propagation over the edges that link: all but
// the conflicted weak keys (plus the accepted ID typos).
func acceptedEdgesSQL() []string {
	return []string{
		`CREATE OR REPLACE TEMP TABLE id_rk_acc AS
		SELECT rec, kid FROM id_rk_all ANTI JOIN id_conflict USING (kid)
		UNION
		SELECT rec, kid FROM id_rk_strong`,
		propagationEdges("id_rk_acc"),
	}
}

// labelStrongless labels a graph with no ID number and no earlier holder
// of its keys (addPriorRecords): a load of till or web lines meeting
// nobody known, the usual small load. Without an ID number there is no ID
// typo (id_typo) and no ID-bearing strong component (id_sid), so no weak
// key is conflicted (id_conflict, id_kh, and cutChains adds none): every
// edge links, and the accepted edges are the records' own keys (id_rk_all
// is distinct by record and key; its strong edges are a part of them).
// The tables the full path reads later are made as it leaves them, the
// empty ones directly (no query to plan), and labels propagate once over
// id_rk_all, as the full path's accepted round does: four calls and one
// read instead of sixteen calls and three reads, and eleven queries fewer
// to plan. rkAll is the SQL of id_rk_all. The full path (everyStep, or
// identityShortcuts off) runs every phase.
func (l *loader) labelStrongless(rkAll string) error {
	if err := l.execAll("identity", []string{l.identityKeySQL(), rkAll,
		`CREATE OR REPLACE TEMP TABLE id_typo (id_a VARCHAR, id_b VARCHAR);
		CREATE OR REPLACE TEMP TABLE id_rk_strong (rec BIGINT, kid BIGINT);
		CREATE OR REPLACE TEMP TABLE id_srl (rec BIGINT, slab BIGINT);
		CREATE OR REPLACE TEMP TABLE id_sid (slab BIGINT);
		CREATE OR REPLACE TEMP TABLE id_conflict (kid BIGINT);
		CREATE OR REPLACE TEMP TABLE id_kh (kid BIGINT, slab BIGINT);
		CREATE OR REPLACE TEMP TABLE id_holder (kid BIGINT, lab BIGINT, t0 TIMESTAMP, t1 TIMESTAMP, n BIGINT, channels VARCHAR[]);
		CREATE OR REPLACE TEMP TABLE id_orphan (rec BIGINT, lab BIGINT, alone BOOLEAN);
		CREATE OR REPLACE TEMP TABLE id_rk_acc AS SELECT rec, kid FROM id_rk_all;
		` + propagationEdges("id_rk_acc"),
	}); err != nil {
		return err
	}
	if err := l.propagateLabels(); err != nil {
		return err
	}
	return l.exec("identity", `CREATE OR REPLACE TEMP TABLE id_rl_acc AS
		SELECT a.rec, min(l.lab) AS lab FROM id_rk_acc a JOIN id_lab l USING (kid) GROUP BY a.rec;
		CREATE OR REPLACE TEMP TABLE id_rl AS SELECT rec, lab FROM id_rl_acc`)
}

// maxChainCuts bounds the rounds of cutChains.
const maxChainCuts = 4

// cutChains propagates over the accepted edges and then looks for
// components that still join two ID-bearing strong components: a weak key
// held by one person reached another through a record carrying no strong
// key (an old holder's web order with a recycled number and their own
// e-mail). In those components every weak key whose records reach two such
// components — through their own strong keys or the direct holders of
// their other weak keys — becomes conflicted, and propagation runs again.
func (l *loader) cutChains() error {
	for round := 0; ; round++ {
		if err := l.execAll("identity", acceptedEdgesSQL()); err != nil {
			return err
		}
		if err := l.propagateLabels(); err != nil {
			return err
		}
		if err := l.exec("identity", `CREATE OR REPLACE TEMP TABLE id_rl_acc AS
			SELECT a.rec, min(l.lab) AS lab FROM id_rk_acc a JOIN id_lab l USING (kid) GROUP BY a.rec`); err != nil {
			return err
		}
		if round == maxChainCuts {
			return nil
		}
		added, err := l.execRows("identity", `INSERT INTO id_conflict
			WITH over AS (
				SELECT r.lab FROM id_rl_acc r JOIN id_srl USING (rec) SEMI JOIN id_sid USING (slab)
				GROUP BY r.lab HAVING count(DISTINCT slab) > 1),
			recs AS (SELECT rec FROM id_rl_acc SEMI JOIN over USING (lab)),
			reach AS (
				SELECT rec, slab FROM id_srl SEMI JOIN recs USING (rec) SEMI JOIN id_sid USING (slab)
				UNION
				SELECT e.rec, h.slab FROM id_rk_all e SEMI JOIN recs USING (rec) JOIN id_kh h USING (kid))
			SELECT e.kid FROM id_rk_all e SEMI JOIN recs USING (rec) JOIN reach USING (rec)
			WHERE e.weak AND e.kid NOT IN (SELECT kid FROM id_conflict)
			GROUP BY e.kid HAVING count(DISTINCT reach.slab) > 1`)
		if err != nil || added == 0 {
			return err
		}
	}
}

// labelOrphans labels every record (orphanSQL). Without a conflicted key
// every record keeps its accepted label and nobody holds a shared key: the
// tables orphanSQL would find so are made empty in one call.
func (l *loader) labelOrphans(rules IdentityRules) error {
	n, err := l.count(`SELECT count(*) FROM id_conflict`)
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	if n > 0 || !identityShortcuts {
		return l.execAll("identity", append(splitOrphanGroupsSQL(), orphanSQL(rules)...))
	}
	return l.exec("identity", `CREATE OR REPLACE TEMP TABLE id_holder (kid BIGINT, lab BIGINT, t0 TIMESTAMP, t1 TIMESTAMP, n BIGINT, channels VARCHAR[]);
		CREATE OR REPLACE TEMP TABLE id_orphan (rec BIGINT, lab BIGINT, alone BOOLEAN);
		CREATE OR REPLACE TEMP TABLE id_rl AS SELECT rec, lab FROM id_rl_acc`)
}

// splitOrphanGroupsSQL makes each line of a group of sales lines whose
// keys are all conflicted (a group left without an accepted key: only
// mobiles and e-mails, all refused) a record of its own, with its own
// time, before orphanSQL gives each to the holder of its time: lines of
// one recycled number in one store may belong to its holder then and to
// its holder now. The group's row and edges give way to its lines'. Only
// orphanSQL reads a line's own time; every rule before it reads a group's
// keys, span and count, which its lines share.
func splitOrphanGroupsSQL() []string {
	return []string{
		`CREATE OR REPLACE TEMP TABLE id_split AS
		SELECT * FROM id_src WHERE n > 1 AND rec IN (SELECT rec FROM id_rk_all ANTI JOIN id_rl_acc USING (rec))`,
		`CREATE OR REPLACE TEMP TABLE id_split_edge AS SELECT e.* FROM id_rk_all e SEMI JOIN id_split USING (rec)`,
		`CREATE OR REPLACE TEMP TABLE id_split_line AS
		WITH m AS (SELECT grp, line FROM id_member WHERE grp IN (SELECT rec FROM id_split))
		SELECT m.grp, m.line, t.t FROM m JOIN (
			SELECT ` + recID + ` AS line, min(ts_v) AS t FROM ok_sales WHERE ` + recID + ` IN (SELECT line FROM m) GROUP BY ALL) t USING (line)`,
		`DELETE FROM id_rk_all WHERE rec IN (SELECT rec FROM id_split)`,
		`DELETE FROM id_src WHERE rec IN (SELECT rec FROM id_split)`,
		`INSERT INTO id_src (rec, card, idn, mobile_v, email_v, cref, t, t_from, channel, name_key, birth_in, region_in, region_s, store_s, t_first, n, sales)
		SELECT l.line, s.card, s.idn, s.mobile_v, s.email_v, s.cref, l.t, l.t, s.channel, s.name_key, s.birth_in, s.region_in, s.region_s, s.store_s, l.t, 1, true
		FROM id_split_line l JOIN id_split s ON s.rec = l.grp`,
		`UPDATE id_member SET grp = line WHERE grp IN (SELECT rec FROM id_split)`,
		`INSERT INTO id_rk_all (rec, kid, weak) SELECT l.line, e.kid, e.weak FROM id_split_line l JOIN id_split_edge e ON e.rec = l.grp`,
	}
}

// orphanSQL labels every record: by its accepted keys, or, when all its
// keys are conflicted, with the one component that held one of them best:
// a holder whose time with the key (from a CRM row's registration, or the
// first record, to the last) holds the record's time beats one whose does
// not (a recycled number belongs to its holder of the time); among those,
// one that used the key in the record's channel beats one that did not
// (of a household sharing a number, the one who gives it at the till;
// an earlier load's holder, in the channels identity_link remembers) —
// counting only the holder's records that give the key without another
// mobile or e-mail: a member who orders online with the family's number
// and their own e-mail tells who they are, so an order giving the number
// alone is not theirs by channel;
// then one holding it by e-mail beats one holding it by mobile (carriers
// recycle numbers, not e-mail addresses); then the nearest in time. When
// the best two tie on all of these (both hold the number then and use it
// in that channel, or neither does), the record's own evidence settles it:
// the holder whose own records agree with more of the record's name,
// birth date and place wins, when it agrees in TieEvidence fields or more.
// Names, birth dates and regions are the holder's CRM rows' (an earlier
// load's holder: its current dim_customer version's); a place agrees when
// a web order ships to the holder's region or a till line is rung up in
// the holder's home store, where most of its own till lines were (people
// shop near home; a store visited now and then is no evidence, and a
// household with one home store stays tied). A record the evidence does not settle (no field, or the same
// agreement with both) is ambiguous, and like a record no holder is near
// enough to (MaxGapDays) it stands alone: one component per conflicted
// key, labelled by that key (which labels no other component). Evidence
// only breaks ties: a holder the time and channel rules prefer keeps the
// record whatever its fields say, so the rules that decided before decide
// the same.
func orphanSQL(rules IdentityRules) []string {
	return []string{
		`CREATE OR REPLACE TEMP TABLE id_holder AS
		WITH paired AS (SELECT rec FROM id_rk_all WHERE weak GROUP BY rec HAVING count(*) > 1)
		SELECT e.kid, r.lab, min(s.t_from) AS t0, max(s.t) AS t1, sum(s.n) AS n,
			list_distinct(flatten(list(coalesce(p.channels, CASE WHEN pr.rec IS NULL THEN [s.channel] ELSE [] END)))) AS channels
		FROM id_rk_all e SEMI JOIN id_conflict USING (kid) JOIN id_rl_acc r USING (rec) JOIN id_src s USING (rec)
		LEFT JOIN id_prior_rec p USING (rec) LEFT JOIN paired pr USING (rec)
		GROUP BY e.kid, r.lab`,
		fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE id_orphan AS
		WITH st AS (
			-- The stores each holder's till records were rung up in (an
			-- earlier load's holder: its sales in the warehouse), with how
			-- many lines.
			SELECT lab, store, sum(n) AS n FROM (
				SELECT r.lab, s.store_s AS store, s.n FROM id_rl_acc r JOIN id_src s USING (rec)
				WHERE r.lab IN (SELECT lab FROM id_holder) AND s.store_s IS NOT NULL
				UNION ALL
				SELECT c.lab, f.store_code, 1 FROM (SELECT DISTINCT r.lab, p.customer_id FROM id_rl_acc r JOIN id_prior_rec p USING (rec)
					WHERE r.lab IN (SELECT lab FROM id_holder)) c
				JOIN fact_sales f ON f.customer_id = c.customer_id WHERE f.store_code IS NOT NULL)
			GROUP BY lab, store),
		home AS (
			-- Each holder's home stores: where most of its lines were.
			SELECT lab, list(store ORDER BY store) AS stores FROM (SELECT *, max(n) OVER (PARTITION BY lab) AS most FROM st)
			WHERE n = most GROUP BY lab),
		attr AS (
			-- What each holder's own CRM rows say of them (an earlier load's
			-- holder: its current version), and its home stores.
			SELECT lab, any_value(names) AS names, any_value(births) AS births, any_value(regions) AS regions, any_value(h.stores) AS stores
			FROM (
				SELECT r.lab, list(DISTINCT s.name_key) FILTER (WHERE s.name_key IS NOT NULL) AS names,
					list(DISTINCT s.birth_in) FILTER (WHERE s.birth_in IS NOT NULL) AS births,
					list(DISTINCT CAST(s.region_in AS VARCHAR)) FILTER (WHERE s.region_in IS NOT NULL) AS regions
				FROM id_rl_acc r JOIN id_src s USING (rec)
				WHERE r.lab IN (SELECT lab FROM id_holder) AND (s.name_key IS NOT NULL OR s.birth_in IS NOT NULL OR s.region_in IS NOT NULL)
				GROUP BY r.lab) a
			FULL JOIN home h USING (lab)
			GROUP BY lab),
		c AS (
			SELECT e.rec, h.lab, h.n,
				CASE WHEN s.t < h.t0 THEN date_diff('day', s.t, h.t0)
					WHEN s.t > h.t1 THEN date_diff('day', h.t1, s.t) ELSE 0 END AS gap,
				list_contains(h.channels, s.channel) AS same_channel, k.key_type = 'email' AS by_email,
				coalesce(list_contains(a.names, s.name_key), false)::INT + coalesce(list_contains(a.births, s.birth_in), false)::INT
					+ (coalesce(list_contains(a.regions, coalesce(CAST(s.region_in AS VARCHAR), s.region_s)), false)
						OR coalesce(list_contains(a.stores, s.store_s), false))::INT AS ev
			FROM id_rk_all e ANTI JOIN id_rl_acc USING (rec) JOIN id_src s USING (rec) JOIN id_holder h USING (kid)
			JOIN id_key k USING (kid) LEFT JOIN attr a ON a.lab = h.lab),
		r AS (
			SELECT *, row_number() OVER w AS rn,
				lead(gap) OVER w AS next_gap, lead(same_channel) OVER w AS next_same, lead(by_email) OVER w AS next_email,
				lead(ev) OVER w AS next_ev
			FROM c WINDOW w AS (PARTITION BY rec ORDER BY gap = 0 DESC, same_channel DESC, by_email DESC, gap, ev DESC, lab)),
		best AS (
			SELECT rec, lab FROM r
			WHERE rn = 1 AND gap <= %d
				AND (next_gap IS NULL OR NOT (next_gap = gap AND next_same = same_channel AND next_email = by_email)
					OR ev >= %d AND ev > next_ev))
		SELECT o.rec, coalesce(b.lab, o.kid) AS lab, b.lab IS NULL AS alone
		FROM (SELECT e.rec, min(e.kid) AS kid FROM id_rk_all e ANTI JOIN id_rl_acc USING (rec) GROUP BY e.rec) o
		LEFT JOIN best b USING (rec)`, rules.MaxGapDays, rules.tieEvidence()),
		`CREATE OR REPLACE TEMP TABLE id_rl AS SELECT rec, lab FROM id_rl_acc UNION ALL SELECT rec, lab FROM id_orphan`,
	}
}

// labelsInSQL, in tests, propagates labels in rounds of SQL (labelRound)
// instead of in Go (labelComponents), to compare the two.
var labelsInSQL = false

// identityShortcuts lets the identity step make the tables of a phase
// whose inputs are empty (no earlier holder of a key, no conflicted key)
// directly, in one call; tests turn it off to compare with the full path.
var identityShortcuts = true

// propagateLabels makes id_lab: every identifier of id_key with the least
// identifier of its component of id_rk (each record joins its keys). In
// Go over the edges (labelComponents), or in rounds of SQL (labelsInSQL),
// failing if they do not converge.
func (l *loader) propagateLabels() error {
	if !labelsInSQL {
		return l.labelComponents()
	}
	if err := l.exec("identity", `CREATE OR REPLACE TEMP TABLE id_lab AS SELECT kid, kid AS lab FROM id_key`); err != nil {
		return err
	}
	for round := 0; round < maxIdentityRounds; round++ {
		changed, err := l.labelRound()
		if err != nil {
			return err
		}
		if changed == 0 {
			return nil
		}
	}
	return fmt.Errorf("identity: label propagation did not converge in %d rounds", maxIdentityRounds)
}

// labelComponents makes id_lab with a union-find in Go (identity_labels.go):
// one scan of id_rk joins each record's keys to its least one through
// ckm_label_edge (the least found by DuckDB: a map of records in Go cost
// as much, and memory the load's limit does not count), one of id_key
// reads each key's label back through ckm_label_of.
func (l *loader) labelComponents() error {
	h, g, err := newLabelGraph()
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	defer labelGraphs.Delete(h)
	// Traced as a statement of the step (CKM_DEBUG_SQL); run twice under
	// CKM_DEBUG_ANALYZE, it joins the same keys again.
	if err := l.exec("identity", `SELECT count(*) FROM (SELECT kid, min(kid) OVER (PARTITION BY rec) AS k0 FROM id_rk)
		WHERE kid <> k0 AND ckm_label_edge(?, k0, kid)`, h); err != nil {
		return err
	}
	g.settle()
	return l.exec("identity", `CREATE OR REPLACE TEMP TABLE id_lab AS SELECT kid, ckm_label_of(?, kid) AS lab FROM id_key`, h)
}

// labelRound runs one round of label propagation and says how many
// identifiers changed label.
func (l *loader) labelRound() (int64, error) {
	if err := l.exec("identity", `CREATE OR REPLACE TEMP TABLE id_rl_round AS
			SELECT rk.rec, min(l.lab) AS lab FROM id_rk rk JOIN id_lab l USING (kid) GROUP BY rk.rec`); err != nil {
		return 0, err
	}
	// New key label: the smallest label of its records, then one pointer jump.
	if err := l.exec("identity", `CREATE OR REPLACE TEMP TABLE id_lab2 AS
			WITH n AS (SELECT rk.kid, min(r.lab) AS lab FROM id_rk rk JOIN id_rl_round r USING (rec) GROUP BY rk.kid),
			m AS (SELECT n.kid, least(n.lab, coalesce(j.lab, n.lab)) AS lab FROM n LEFT JOIN n j ON j.kid = n.lab)
			SELECT o.kid, coalesce(m.lab, o.lab) AS lab FROM id_lab o LEFT JOIN m USING (kid)`); err != nil {
		return 0, err
	}
	changed, err := l.count(`SELECT count(*) FROM id_lab2 n JOIN id_lab o USING (kid) WHERE n.lab <> o.lab`)
	if err != nil {
		return 0, fmt.Errorf("identity: %w", err)
	}
	if err := l.exec("identity", `CREATE OR REPLACE TEMP TABLE id_lab AS SELECT * FROM id_lab2`); err != nil {
		return 0, err
	}
	return changed, nil
}

// assignCustomers gives each component its customer id (an existing one,
// or a new one numbered after the largest), records new identifiers in
// etl_identity and maps every record of the graph (id_grec) and every
// source record (id_rec) to its customer. strongless says the
// graph was labelled by labelStrongless.
func (l *loader) assignCustomers(strongless bool) error {
	base, err := l.count(`SELECT coalesce(max(customer_id), 0) FROM etl_identity`)
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	if err := l.exec("identity", l.identityTokenSQL()); err != nil {
		return err
	}
	steps := customerSQL(base, l.runID)
	first := []string{steps[0], aloneCustomerSQL}
	if strongless {
		// No record was left alone with a conflicted key (id_orphan is
		// empty): aloneCustomerSQL would change nothing.
		first = first[:1]
	}
	if err := l.execAll("identity", first); err != nil {
		return err
	}
	// Components meeting several existing customers merge them (or, kept
	// apart by a steward's split, pick one): identity_merge.go.
	plan, err := l.planMerges()
	if err != nil {
		return err
	}
	if err := l.execAll("identity", steps[1:]); err != nil {
		return err
	}
	if l.newCustomers, err = l.count(`SELECT count(*) FROM id_cust WHERE is_new`); err != nil {
		return err
	}
	if err := l.applyMerges(plan); err != nil {
		return err
	}
	return l.exec("identity", expandRecSQL)
}

// expandRecSQL makes id_rec, each source record's customer, from each
// graph record's (id_grec): a group of sales lines gives its customer to
// each of its lines (id_member), a CRM row is its own record.
var expandRecSQL = `CREATE OR REPLACE TEMP TABLE id_rec AS
		SELECT ` + sourceRecs("g") + ` AS rec, g.customer_id FROM id_grec g ` + sourceJoin("g")

// sourceRecs is SQL for the source records of the graph record whose id
// is t.rec, one row each with sourceJoin(t) in the FROM clause: a group's
// lines, else the record itself (a CRM row, a prior or an earlier record:
// no line of id_member has it for its group).
func sourceRecs(t string) string { return "coalesce(m.line, " + t + ".rec)" }

// sourceJoin joins the lines of the graph record t.rec (see sourceRecs).
func sourceJoin(t string) string { return "LEFT JOIN id_member m ON m.grp = " + t + ".rec" }

// reportConflicts logs what the conflict rules did: conflicted keys, the
// ID typos accepted, and the components still holding two ID numbers the
// rules did not accept as one (weak keys chaining through a component
// without an ID).
func (l *loader) reportConflicts() error {
	var conflicts, typos, chained int64
	if err := l.tx.QueryRowContext(l.ctx, `SELECT (SELECT count(*) FROM id_conflict), (SELECT count(*) FROM id_typo),
		(SELECT count(*) FROM (SELECT r.lab FROM id_rl r JOIN id_srl USING (rec) SEMI JOIN id_sid USING (slab)
			GROUP BY r.lab HAVING count(DISTINCT slab) > 1))`).Scan(&conflicts, &typos, &chained); err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	if conflicts+typos+chained > 0 {
		l.logf("identity: %d shared mobiles/e-mails not used to link (held by persons with different ID numbers), %d ID typos linked, %d customers holding two ID numbers through a chain of weak keys",
			conflicts, typos, chained)
	}
	return nil
}

// aloneCustomerSQL gives the records left alone with a conflicted key
// (orphanSQL: no holder near enough, or two tied) the customer an earlier
// load left alone with the same key, as one load gives all such records of
// a key one component: a shared number's unattributed till lines are one
// customer whatever load brought them.
const aloneCustomerSQL = `UPDATE id_comp SET existing = a.customer_id, n_existing = 1 FROM (
		SELECT o.lab, min(il.customer_id) AS customer_id
		FROM (SELECT DISTINCT lab FROM id_orphan WHERE alone) o JOIN id_key k ON k.kid = o.lab JOIN id_tok t ON t.kid = k.kid
		JOIN identity_link il ON il.key_type = k.key_type AND il.key_value = t.tok AND il.rule = 'shared_alone'
		GROUP BY o.lab) a
	WHERE id_comp.lab = a.lab AND id_comp.existing IS NULL`

// customerSQL assigns customer ids to components: existing ids first, new
// ones from base+1; runID stamps the identifiers recorded. Only keys that
// link (not conflicted) find or record a customer. A component of earlier
// records alone (identity_reresolve.go) gets no new customer: its records
// stay where they are.
func customerSQL(base, runID int64) []string {
	return []string{
		`CREATE OR REPLACE TEMP TABLE id_comp AS
		SELECT c.lab, min(ei.customer_id) AS existing, count(DISTINCT ei.customer_id) AS n_existing
		FROM (SELECT DISTINCT lab FROM id_rl) c
		LEFT JOIN (SELECT l.lab, k.key_type, t.tok FROM id_lab l JOIN id_key k USING (kid) JOIN id_tok t USING (kid) ANTI JOIN id_conflict USING (kid)) k USING (lab)
		LEFT JOIN ` + knownKeysSQL + ` ei ON ei.key_type = k.key_type AND ei.key_value = k.tok
		GROUP BY c.lab`,
		fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE id_cust AS
		SELECT lab, existing AS customer_id, false AS is_new FROM id_comp WHERE existing IS NOT NULL
		UNION ALL
		SELECT lab, %d + row_number() OVER (ORDER BY lab), true FROM id_comp
		WHERE existing IS NULL AND lab IN (SELECT lab FROM id_rl WHERE rec > 0)`, base),
		fmt.Sprintf(`INSERT INTO etl_identity (key_type, key_value, customer_id, first_run)
		SELECT k.key_type, t.tok, c.customer_id, %d
		FROM id_key k JOIN id_tok t USING (kid) ANTI JOIN id_conflict USING (kid) JOIN id_lab l USING (kid) JOIN id_cust c USING (lab)
		WHERE k.key_type <> '`+priorCustomerKey+`' AND NOT EXISTS (SELECT 1 FROM etl_identity e WHERE e.key_type = k.key_type AND e.key_value = t.tok)`, runID),
		`CREATE OR REPLACE TEMP TABLE id_grec AS SELECT r.rec, c.customer_id FROM id_rl r JOIN id_cust c USING (lab) WHERE r.rec > 0`,
	}
}
