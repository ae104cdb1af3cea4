package event

import (
	"encoding/json"
	"strconv"

	"github.com/livecb/livecb/internal/jsonx"
)

// KeyField is one field worth showing in a one-line summary of a callback.
type KeyField struct {
	Name  string
	Value string
}

// MaxKeyFields is the most KeyFields a kind has (the table is checked).
const MaxKeyFields = 8

// KeyFields returns the key fields of the event's kind (KindInfo.KeyFields)
// that the body has, as text: strings as they are, numbers with their exact
// digits, arrays as their length ("2 spans"), objects as compact JSON. A
// listener prints them on its one line per callback; the values came from
// the network and must be sanitised before they reach a terminal.
func (e *Event) KeyFields() []KeyField { return e.AppendKeyFields(nil) }

// AppendKeyFields appends the KeyFields to out, so that a caller printing
// a line per callback can keep them on its stack.
func (e *Event) AppendKeyFields(out []KeyField) []KeyField {
	if e == nil {
		return out
	}
	info, ok := e.kindInfo()
	if !ok {
		return out
	}
	at := 0 // (see members.from)
	for _, name := range info.KeyFields {
		var v any
		var ok bool
		if v, ok, at = e.top.from(at, name); !ok {
			continue
		}
		var s string
		switch v := v.(type) {
		case string:
			s = v
		case json.Number:
			s = v.String()
		case []any:
			item := "item"
			if f := fieldAt(info.Fields, []string{name}); f != nil && f.ItemName != "" {
				item = f.ItemName
			}
			s = strconv.Itoa(len(v)) + " " + item
			if len(v) != 1 {
				s += "s"
			}
		case nil:
			s = "null"
		default:
			b, _ := jsonx.Marshal(v)
			s = string(b)
		}
		out = append(out, KeyField{Name: name, Value: s})
	}
	return out
}
