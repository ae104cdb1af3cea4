package event

import (
	"bytes"
	"fmt"
	"regexp"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/livecb/livecb/internal/jsonx"
)

// SchemaBase is the $id prefix of livecb's schemas.
const SchemaBase = "https://livecb.dev/schema/v1.1/"

// numericString matches a number written as a string, as the spec's revisions
// do ("6007851133", "18439.0"), with optional white space around it (padding
// is reported as a warning, not an error).
const numericString = `^\s*-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?\s*$`

// Schema returns the JSON Schema (draft 2020-12) of one kind, built from the
// kind's table entry so that the schema, `events show` and the rules of
// Validate can never disagree. Unknown fields are allowed: the service adds
// fields between revisions and receivers must accept them (they are reported
// as warnings by Validate).
func Schema(k Kind) map[string]any {
	info, ok := table().index[k]
	if !ok {
		return nil
	}
	s := objectSchema(info.Fields)
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["$id"] = SchemaBase + string(k) + ".json"
	s["title"] = string(k)
	s["description"] = info.Description + " (family: " + string(info.Family) + ")"
	props := s["properties"].(map[string]any)
	if ev, ok := props["event"].(map[string]any); ok && info.Event != "" {
		// The event value names the kind; classification already trims it,
		// so allow padding here too and leave it to the padding warning.
		ev["pattern"] = `^\s*` + regexp.QuoteMeta(info.Event) + `\s*$`
	}
	return s
}

// SchemaJSON returns Schema(k) as indented JSON.
func SchemaJSON(k Kind) []byte { return indentJSON(Schema(k)) }

// SchemaDocument returns one JSON Schema for every kind: $defs holds each
// kind's schema (Schema) and anyOf accepts a body that is valid as at least
// one of them. anyOf, not oneOf: unknown fields are allowed, so a body can
// be valid as two kinds at once (an automatic record that also carries a
// group), and oneOf would reject it. A schema cannot say which kind a body
// is: `livecb validate` classifies first (Classify) and then applies that
// kind's schema and rules.
func SchemaDocument() map[string]any {
	defs := map[string]any{}
	var anyOf []any
	for _, name := range KindNames() {
		s := Schema(Kind(name))
		delete(s, "$schema")
		defs[name] = s
		anyOf = append(anyOf, map[string]any{"$ref": s["$id"]})
	}
	return map[string]any{
		"$schema": "https://json-schema.org/draft/2020-12/schema",
		"$id":     SchemaBase + "callback.json",
		"title":   "live callback v1.1",
		"description": "any callback of the live-video service: valid when it is valid as at least one kind (anyOf); " +
			"$defs holds the schema of each kind. Which kind a body is, livecb tells from its fields, not from this schema.",
		"$defs": defs,
		"anyOf": anyOf,
	}
}

// SchemaDocumentJSON returns SchemaDocument as indented JSON.
func SchemaDocumentJSON() []byte { return indentJSON(SchemaDocument()) }

func indentJSON(v any) []byte {
	b, err := jsonx.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(err) // a map of plain values always encodes
	}
	return b
}

func objectSchema(fields []Field) map[string]any {
	props := map[string]any{}
	var required []string
	for _, f := range fields {
		props[f.Name] = fieldSchema(f)
		if f.Required {
			required = append(required, f.Name)
		}
	}
	s := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func fieldSchema(f Field) map[string]any {
	var s map[string]any
	switch {
	case f.Numeric:
		// Either JSON form is accepted: the spec's revisions disagree.
		s = map[string]any{"anyOf": []any{
			map[string]any{"type": "number"},
			map[string]any{"type": "string", "pattern": numericString},
		}}
	case f.ID:
		// A JSON number is drift, reported by Validate.
		s = map[string]any{"type": []any{"string", "number"}}
	case f.Type == TObject:
		s = map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}}
	case f.Type == TArray:
		s = map[string]any{"type": "array", "items": objectSchema(f.Items)}
		if f.MinItems > 0 {
			s["minItems"] = f.MinItems
		}
		if f.MaxItems > 0 {
			s["maxItems"] = f.MaxItems
		}
	case len(f.Enum) > 0:
		s = map[string]any{"type": "string", "enum": f.Enum}
	default:
		s = map[string]any{"type": "string"}
	}
	desc := f.Doc
	if f.Unit != "" {
		desc += " (" + f.Unit + ")"
	}
	if len(f.Expected) > 0 {
		// Not an enum: other values are warnings, not errors.
		s["examples"] = f.Expected
	}
	s["description"] = desc
	return s
}

// compiledSchema returns the compiled schema of k. The schemas of a table
// are compiled once, when the first body needs one.
func compiledSchema(k Kind) (*jsonschema.Schema, error) {
	r := table()
	r.compileOnce.Do(func() {
		r.compiled = map[Kind]*jsonschema.Schema{}
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft2020)
		for _, info := range r.kinds {
			// Round-trip through JSON so the compiler sees the same document
			// `livecb schema` prints.
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(SchemaJSON(info.Kind)))
			if err != nil {
				r.compileErr = err
				return
			}
			url := SchemaBase + string(info.Kind) + ".json"
			if err := c.AddResource(url, doc); err != nil {
				r.compileErr = err
				return
			}
			sch, err := c.Compile(url)
			if err != nil {
				r.compileErr = fmt.Errorf("schema of %s: %w", info.Kind, err)
				return
			}
			r.compiled[info.Kind] = sch
		}
	})
	if r.compileErr != nil {
		return nil, r.compileErr
	}
	if sch, ok := r.compiled[k]; ok {
		return sch, nil
	}
	return nil, fmt.Errorf("no schema for kind %q", k)
}
