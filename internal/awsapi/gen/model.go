package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
)

// model is the part of a botocore service-2.json the generator uses.
type model struct {
	uid        string
	protocol   string
	operations []operation // sorted by name
	shapes     map[string]*shape
}

type operation struct {
	name   string
	input  string // shape name, "" when the operation has no input
	output string // shape name, "" when the operation has no output
	errors []string
}

// shape is one entry of the model's "shapes" object.
type shape struct {
	name      string
	typ       string
	members   []member // structure members, in model order
	required  map[string]bool
	min, max  *int64
	pattern   string
	enum      []string
	sensitive bool
	exception bool
	fault     bool
	listOf    string // list: member shape
	mapKey    string // map: key shape
	mapValue  string // map: value shape
	traits    []string
}

type member struct {
	name           string
	shape          string
	idempotencyTok bool
	traits         []string
}

type refJSON struct {
	shape  string
	idem   bool
	traits []string
}

func (r *refJSON) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	for k := range raw {
		r.traits = append(r.traits, k)
	}
	slices.Sort(r.traits)
	if err := json.Unmarshal(raw["shape"], &r.shape); err != nil {
		return fmt.Errorf("shape reference: %w", err)
	}
	if v, ok := raw["idempotencyToken"]; ok {
		if err := json.Unmarshal(v, &r.idem); err != nil {
			return err
		}
	}
	return nil
}

// orderedMembers keeps the members of a structure in model order, which
// decides field order and the order of validation messages.
type orderedMembers []member

func (om *orderedMembers) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("members: want an object")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		name, ok := t.(string)
		if !ok {
			return fmt.Errorf("members: want a member name, got %v", t)
		}
		var r refJSON
		if err := dec.Decode(&r); err != nil {
			return fmt.Errorf("member %s: %w", name, err)
		}
		*om = append(*om, member{name: name, shape: r.shape, idempotencyTok: r.idem, traits: r.traits})
	}
	_, err := dec.Token()
	return err
}

type shapeJSON struct {
	Type      string         `json:"type"`
	Members   orderedMembers `json:"members"`
	Required  []string       `json:"required"`
	Min       *json.Number   `json:"min"`
	Max       *json.Number   `json:"max"`
	Pattern   string         `json:"pattern"`
	Enum      []string       `json:"enum"`
	Sensitive bool           `json:"sensitive"`
	Exception bool           `json:"exception"`
	Fault     bool           `json:"fault"`
	Member    *refJSON       `json:"member"`
	Key       *refJSON       `json:"key"`
	Value     *refJSON       `json:"value"`
}

func parseModel(data []byte) (*model, error) {
	var raw struct {
		Metadata struct {
			UID      string `json:"uid"`
			Protocol string `json:"protocol"`
		} `json:"metadata"`
		Operations map[string]struct {
			Input  *refJSON  `json:"input"`
			Output *refJSON  `json:"output"`
			Errors []refJSON `json:"errors"`
		} `json:"operations"`
		Shapes map[string]json.RawMessage `json:"shapes"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	m := &model{
		uid:      raw.Metadata.UID,
		protocol: raw.Metadata.Protocol,
		shapes:   make(map[string]*shape, len(raw.Shapes)),
	}
	for name, op := range raw.Operations {
		o := operation{name: name}
		if op.Input != nil {
			o.input = op.Input.shape
		}
		if op.Output != nil {
			o.output = op.Output.shape
		}
		for _, e := range op.Errors {
			o.errors = append(o.errors, e.shape)
		}
		m.operations = append(m.operations, o)
	}
	slices.SortFunc(m.operations, func(a, b operation) int {
		switch {
		case a.name < b.name:
			return -1
		case a.name > b.name:
			return 1
		}
		return 0
	})
	for name, b := range raw.Shapes {
		s, err := parseShape(name, b)
		if err != nil {
			return nil, err
		}
		m.shapes[name] = s
	}
	return m, nil
}

func parseShape(name string, b []byte) (*shape, error) {
	var sj shapeJSON
	if err := json.Unmarshal(b, &sj); err != nil {
		return nil, fmt.Errorf("shape %s: %w", name, err)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		return nil, fmt.Errorf("shape %s: %w", name, err)
	}
	s := &shape{
		name:      name,
		typ:       sj.Type,
		members:   sj.Members,
		required:  make(map[string]bool, len(sj.Required)),
		pattern:   sj.Pattern,
		enum:      sj.Enum,
		sensitive: sj.Sensitive,
		exception: sj.Exception,
		fault:     sj.Fault,
	}
	for k := range keys {
		s.traits = append(s.traits, k)
	}
	slices.Sort(s.traits)
	for _, r := range sj.Required {
		s.required[r] = true
	}
	var err error
	if s.min, err = number(sj.Min); err != nil {
		return nil, fmt.Errorf("shape %s: min: %w", name, err)
	}
	if s.max, err = number(sj.Max); err != nil {
		return nil, fmt.Errorf("shape %s: max: %w", name, err)
	}
	if sj.Member != nil {
		s.listOf = sj.Member.shape
	}
	if sj.Key != nil {
		s.mapKey = sj.Key.shape
	}
	if sj.Value != nil {
		s.mapValue = sj.Value.shape
	}
	return s, nil
}

func number(n *json.Number) (*int64, error) {
	if n == nil {
		return nil, nil
	}
	v, err := strconv.ParseInt(n.String(), 10, 64)
	if err != nil {
		return nil, err
	}
	return &v, nil
}
