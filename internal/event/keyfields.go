package event

import (
	"encoding/json"
	"strconv"
)

// KeyField is one field worth showing in a one-line summary of a callback.
type KeyField struct {
	Name  string
	Value string
}

// keyFields are the fields that tell one callback of a kind from another, in
// the order a one-line summary shows them (the identity is shown apart).
var keyFields = map[Kind][]string{
	PublishStarted: {"eventTime", "clientIp"},
	PublishDone:    {"eventTime"},
	RecordDone:     {"format", "duration", "fileSize", "beginTime", "endTime"},
	TaskRecordDone: {"format", "duration", "fileSize", "group", "taskExternalId"},
	Snapshot:       {"snapshotTime"},
	Quality:        {"module", "type", "startTime", "endTime"},
}

// KeyFields returns the key fields of the event's kind that the body has,
// as text: strings as they are, numbers with their exact digits, arrays as
// their length ("2 spans"), objects as compact JSON. A listener prints them
// on its one line per callback; the values came from the network and must
// be sanitised before they reach a terminal.
func (e *Event) KeyFields() []KeyField {
	if e == nil {
		return nil
	}
	names := keyFields[e.Kind]
	out := make([]KeyField, 0, len(names))
	for _, name := range names {
		v, ok := e.Fields[name]
		if !ok {
			continue
		}
		var s string
		switch v := v.(type) {
		case string:
			s = v
		case json.Number:
			s = v.String()
		case []any:
			s = strconv.Itoa(len(v)) + " spans"
			if len(v) == 1 {
				s = "1 span"
			}
		case nil:
			s = "null"
		default:
			b, _ := json.Marshal(v)
			s = string(b)
		}
		out = append(out, KeyField{Name: name, Value: s})
	}
	return out
}
