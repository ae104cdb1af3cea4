package event

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Override is one change asked for on the command line: --set path=value,
// --set-string path=value or --unset path.
type Override struct {
	Path  string
	Value json.RawMessage // nil with Unset
	Unset bool
}

func (o Override) String() string {
	if o.Unset {
		return "--unset " + o.Path
	}
	return fmt.Sprintf("--set %s=%s", o.Path, o.Value)
}

// ParseSet parses the argument of --set (asString false: the value is JSON
// when it parses as JSON, else a string) or --set-string (always a string).
func ParseSet(arg string, asString bool) (Override, error) {
	path, value, ok := strings.Cut(arg, "=")
	if !ok {
		return Override{}, fmt.Errorf("%q: write PATH=VALUE, e.g. streamName=cam-1 or group.0.beginTime=1553228747000", arg)
	}
	if _, err := ParsePath(path); err != nil {
		return Override{}, err
	}
	v := ParseValue(value)
	if asString {
		v = StringValue(value)
	}
	return Override{Path: path, Value: v}, nil
}

// ParseUnset parses the argument of --unset.
func ParseUnset(path string) (Override, error) {
	if _, err := ParsePath(path); err != nil {
		return Override{}, err
	}
	return Override{Path: path, Unset: true}, nil
}

// Apply applies overrides in order to a body of kind k. It returns the new
// body and a warning for each path that is not in k's spec (allowed, since
// deliberately odd callbacks are the point of some tests, but worth saying).
func Apply(k Kind, body []byte, overrides []Override) ([]byte, []string, error) {
	var warnings []string
	for _, o := range overrides {
		if !KnownPath(k, o.Path) {
			warnings = append(warnings, fmt.Sprintf("%s: %q is not a field of %s in the spec; sent anyway", o, o.Path, k))
		}
		var err error
		if o.Unset {
			body, err = Unset(body, o.Path)
		} else {
			body, err = Set(body, o.Path, o.Value)
		}
		if err != nil {
			return nil, warnings, fmt.Errorf("%s: %w", o, err)
		}
	}
	return body, warnings, nil
}
