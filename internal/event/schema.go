package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// SchemaBase is the $id prefix of livecb's schemas.
const SchemaBase = "https://livecb.dev/schema/v1.1/"

// numericString matches a number written as a string, as the spec's revisions
// do ("6007851133", "18439.0"), with optional white space around it (padding
// is reported as a warning, not an error).
const numericString = `^\s*-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?\s*$`

// Schema returns the JSON Schema (draft 2020-12) of one kind, built from the
// field table in kind.go so that the schema, `events show` and the rules of
// Validate can never disagree. Unknown fields are allowed: the service adds
// fields between revisions and receivers must accept them (they are reported
// as warnings by Validate).
func Schema(k Kind) map[string]any {
	info, ok := kindIndex[k]
	if !ok {
		return nil
	}
	s := objectSchema(info.Fields)
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["$id"] = SchemaBase + string(k) + ".json"
	s["title"] = string(k)
	s["description"] = info.Description + " (family: " + string(info.Family) + ")"
	props := s["properties"].(map[string]any)
	if ev, ok := props["event"].(map[string]any); ok {
		// The event value names the kind; classification already trims it,
		// so allow padding here too and leave it to the padding warning.
		switch k {
		case RecordDone, TaskRecordDone:
			ev["pattern"] = `^\s*record_done\s*$`
		default:
			ev["pattern"] = `^\s*` + string(k) + `\s*$`
		}
	}
	return s
}

// SchemaJSON returns Schema(k) as indented JSON.
func SchemaJSON(k Kind) []byte {
	b, err := json.MarshalIndent(Schema(k), "", "  ")
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
		s = map[string]any{"type": "array", "minItems": 1, "maxItems": 10, "items": objectSchema(f.Items)}
	case len(f.Enum) > 0:
		s = map[string]any{"type": "string", "enum": f.Enum}
	default:
		s = map[string]any{"type": "string"}
	}
	desc := f.Doc
	if f.Unit != "" {
		desc += " (" + f.Unit + ")"
	}
	s["description"] = desc
	return s
}

var (
	compileOnce sync.Once
	compiled    map[Kind]*jsonschema.Schema
	compileErr  error
)

// compiledSchema returns the compiled schema of k. The schemas are compiled
// once per process.
func compiledSchema(k Kind) (*jsonschema.Schema, error) {
	compileOnce.Do(func() {
		compiled = map[Kind]*jsonschema.Schema{}
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft2020)
		for _, info := range kinds {
			// Round-trip through JSON so the compiler sees the same document
			// `livecb schema` prints.
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(SchemaJSON(info.Kind)))
			if err != nil {
				compileErr = err
				return
			}
			url := SchemaBase + string(info.Kind) + ".json"
			if err := c.AddResource(url, doc); err != nil {
				compileErr = err
				return
			}
			sch, err := c.Compile(url)
			if err != nil {
				compileErr = fmt.Errorf("schema of %s: %w", info.Kind, err)
				return
			}
			compiled[info.Kind] = sch
		}
	})
	if compileErr != nil {
		return nil, compileErr
	}
	return compiled[k], nil
}
