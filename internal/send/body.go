// Package send is the engine of `livecb send`: it builds callback bodies
// (realistic samples, the fixture verbatim, or a custom body, with the
// user's overrides), plans their order (one list of kinds, or a whole
// stream lifecycle, possibly duplicated and shuffled), routes each to a URL
// (given, or from the config's routes per family and domain), validates them
// before they leave, and delivers them through internal/deliver, reporting
// through callbacks. It never imports cobra or viper; the cli renders.
//
// The stages are separate so that a load mode can reuse them: bodies are
// prepared ahead as Items, routed once, and then delivered by whatever
// schedule a mode wants.
package send

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/livecb/livecb/internal/event"
)

// Item is one callback to deliver, prepared ahead.
type Item struct {
	// Seq numbers callbacks in the plan's original order, from 1; a
	// duplicate keeps the Seq of its original.
	Seq  int
	Kind event.Kind
	Body []byte
	// At is when to deliver it, counted from the start of playback (the
	// stream's own time line). Zero for plain sends.
	At time.Duration
	// Copy is 0 for the first delivery and 1 for the --duplicate copy.
	Copy int
	// Warnings are about overrides of paths that are not in the spec.
	Warnings []string
	// Findings are the body's validation findings (filled by Validate).
	Findings event.Findings
	// URL is where it goes (filled by Route); Skip says why it is not sent
	// at all (its family is switched off in the config).
	URL  string
	Skip string
}

// BodyOptions say how bodies are built.
type BodyOptions struct {
	// Verbatim sends the kind's embedded fixture unchanged (overrides still
	// apply).
	Verbatim bool
	// Identity of the stream; empty keeps the sample's.
	Domain, App, Stream string
	// PushURL sets domain, app, stream and push parameters at once, as the
	// service derives them from the URL the encoder pushed to.
	PushURL string
	// Overrides are applied to every body, in order.
	Overrides []event.Override
	// Data is a whole custom body. Kinds then holds at most one kind (used
	// for the spec warnings and the routing family); with none the kind is
	// read from the body.
	Data []byte
	// Now is the end of the sample stream (the wall clock by default).
	Now time.Time
	// Rand makes stream names, IPs and shuffles reproducible; nil is random.
	Rand *rand.Rand
}

// ErrIdentityConflict is returned when a stream identity is given for a
// body that is not built from a sample (verbatim or custom): such a body is
// changed with overrides instead.
var ErrIdentityConflict = errors.New("a stream's identity shapes generated samples; a verbatim or custom body is changed with overrides instead")

// ErrOneCustomBody is returned when a custom body is given more than one
// kind: it is one callback.
var ErrOneCustomBody = errors.New("a custom body is one callback: give it at most one kind")

// CodeKindMismatch is the finding of a body that is another kind than the
// one it is sent as.
const CodeKindMismatch event.Code = "kind_mismatch"

func (o BodyOptions) hasIdentity() bool {
	return o.Domain != "" || o.App != "" || o.Stream != "" || o.PushURL != ""
}

// NewStream returns the sample stream every body is about: a fresh one from
// event.NewStream with the identity options applied.
func NewStream(o BodyOptions) (event.Stream, error) {
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	s := event.NewStream(now, o.Rand)
	if o.PushURL != "" {
		if err := s.ApplyPushURL(o.PushURL); err != nil {
			return s, err
		}
	}
	if o.Domain != "" {
		s.Domain = o.Domain
	}
	if o.App != "" {
		s.App = o.App
	}
	if o.Stream != "" {
		s.Name = o.Stream
	}
	return s, nil
}

// Bodies builds one Item per kind, in order, all about the same stream.
func Bodies(kinds []event.Kind, o BodyOptions) ([]Item, error) {
	if o.Data != nil {
		if o.hasIdentity() {
			return nil, ErrIdentityConflict
		}
		if len(kinds) > 1 {
			return nil, ErrOneCustomBody
		}
		var k event.Kind
		if len(kinds) == 1 {
			k = kinds[0]
		} else if ev, _ := event.Check(o.Data, event.Options{}); ev != nil {
			k = ev.Kind
		}
		it, err := finish(Item{Seq: 1, Kind: k, Body: append([]byte(nil), o.Data...)}, o)
		if err != nil {
			return nil, err
		}
		return []Item{it}, nil
	}
	if len(kinds) == 0 {
		return nil, errors.New("no kind to send")
	}
	if o.Verbatim && o.hasIdentity() {
		return nil, ErrIdentityConflict
	}
	s, err := NewStream(o)
	if err != nil {
		return nil, err
	}
	items := make([]Item, 0, len(kinds))
	for i, k := range kinds {
		var body []byte
		if o.Verbatim {
			body = event.Fixture(k)
			if body == nil {
				err = fmt.Errorf("unknown kind %q", k)
			}
		} else {
			body, err = event.Sample(k, s)
		}
		if err != nil {
			return nil, err
		}
		it, err := finish(Item{Seq: i + 1, Kind: k, Body: body}, o)
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	return items, nil
}

// finish applies the overrides to it.Body.
func finish(it Item, o BodyOptions) (Item, error) {
	if len(o.Overrides) == 0 {
		return it, nil
	}
	body, warnings, err := event.Apply(it.Kind, it.Body, o.Overrides)
	if err != nil {
		return it, err
	}
	it.Body, it.Warnings = body, warnings
	return it, nil
}

// Validate checks every body with the event model and stores the findings.
// It reports whether any body has errors (such a plan must not leave unless
// the user asked for broken callbacks).
func Validate(items []Item) (bad bool) {
	for i := range items {
		it := &items[i]
		var ev *event.Event
		ev, it.Findings = event.Check(it.Body, event.Options{})
		if ev != nil && ev.Kind != "" && it.Kind != "" && ev.Kind != it.Kind {
			// A snapshot sent as record_done would reach the record URL.
			it.Findings = append(event.Findings{{Severity: event.Error, Code: CodeKindMismatch,
				Message: fmt.Sprintf("the body is a %s callback, not the %s it is sent as", ev.Kind, it.Kind)}}, it.Findings...)
		}
		if it.Findings.HasErrors() {
			bad = true
		}
	}
	return bad
}
