package rough

import "fmt"

// Condition is one attribute = value test.
type Condition struct {
	Attribute string
	Value     string
}

// Rule is a decision rule read from one indiscernibility class: IF every
// condition THEN decision. A certain rule comes from a class inside the
// lower approximation of its decision (confidence 1); a possible rule from a
// class in the boundary, one rule per decision the class meets.
type Rule struct {
	Conditions []Condition
	Decision   string
	Certain    bool
	// Support is the number of objects matching the conditions and having the
	// decision; Matches those matching the conditions; Confidence = Support/Matches.
	Support    int
	Matches    int
	Confidence float64
}

// String writes the rule as IF … THEN ….
func (r Rule) String() string {
	s := "IF"
	for i, c := range r.Conditions {
		if i > 0 {
			s += " AND"
		}
		s += fmt.Sprintf(" %s = %q", c.Attribute, c.Value)
	}
	if len(r.Conditions) == 0 {
		s += " TRUE"
	}
	kind := "possibly"
	if r.Certain {
		kind = "certainly"
	}
	return fmt.Sprintf("%s THEN %s %q (support %d, confidence %d/%d)", s, kind, r.Decision, r.Support, r.Support, r.Matches)
}

// Rules returns the certain and possible rules over the attributes (e.g. a
// reduct), one group per indiscernibility class in order of its first
// object, decisions within a group in order of first appearance.
func (t *Table) Rules(attrs []string) ([]Rule, error) {
	js, err := t.resolve(attrs)
	if err != nil {
		return nil, err
	}
	var out []Rule
	for _, c := range t.classesOf(js) {
		conds := make([]Condition, len(js))
		for i, j := range js {
			conds[i] = Condition{Attribute: t.attrs[j], Value: t.values[j][t.codes[j][c[0]]]}
		}
		count := map[int]int{}
		var order []int
		for _, o := range c {
			if count[t.decision[o]] == 0 {
				order = append(order, t.decision[o])
			}
			count[t.decision[o]]++
		}
		for _, d := range order {
			out = append(out, Rule{Conditions: conds, Decision: t.classes[d], Certain: len(order) == 1,
				Support: count[d], Matches: len(c), Confidence: float64(count[d]) / float64(len(c))})
		}
	}
	return out, nil
}
