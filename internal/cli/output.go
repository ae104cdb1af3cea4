package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/livecb/livecb/internal/jsonx"
)

// The output layer, like gh's cmdutil.Exporter: --output is read once, in
// the root command's pre-run; a command renders its own text, and hands
// every data value to Output.Write when the format is a structured one.
// Adding a format is one entry in outputFormats.

// outputFormat is one value of --output.
type outputFormat struct {
	name string
	help string
	// newWriter returns what writes one data value in this format to w;
	// nil for text, which each command renders itself.
	newWriter func(w io.Writer) func(v any) error
}

var outputFormats = []outputFormat{
	{name: "text", help: "human-readable, coloured on a terminal"},
	{name: "json", help: "one JSON object per line (JSON Lines)", newWriter: func(w io.Writer) func(any) error {
		return jsonx.NewEncoder(w).Encode
	}},
}

// outputNames lists the formats, for help and errors.
func outputNames() string {
	names := make([]string, len(outputFormats))
	for i, f := range outputFormats {
		names[i] = f.name
	}
	return strings.Join(names, " or ")
}

// Output writes a command's data to stdout in the chosen format.
type Output struct {
	format outputFormat
	w      io.Writer
	write  func(any) error
}

// newOutput returns the output of the format named name, writing to w.
func newOutput(name string, w io.Writer) (*Output, error) {
	for _, f := range outputFormats {
		if f.name == name {
			o := &Output{format: f}
			o.SetWriter(w)
			return o, nil
		}
	}
	return nil, fmt.Errorf("%q is not a format: use %s", name, outputNames())
}

// Structured reports whether the data is written through Write (json)
// rather than rendered as text by the command.
func (o *Output) Structured() bool { return o.format.newWriter != nil }

// Name is the format's name.
func (o *Output) Name() string { return o.format.name }

// Write writes one data value (a structured format only).
func (o *Output) Write(v any) error {
	if o.write == nil {
		return fmt.Errorf("internal error: %s output has no structured form", o.format.name)
	}
	return o.write(v)
}

// SetWriter sends the output to w (listen and replay buffer stdout when it
// is not a terminal).
func (o *Output) SetWriter(w io.Writer) {
	o.w = w
	o.write = nil
	if o.format.newWriter != nil {
		o.write = o.format.newWriter(w)
	}
}

// Writer is where text goes.
func (o *Output) Writer() io.Writer { return o.w }
