package event

import (
	"encoding/json"
	"fmt"
	"math/big"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/livecb/livecb/internal/jsonx"
)

// DefaultMaxFindings is how many findings Validate reports for one body
// unless Options.MaxFindings says otherwise: a body can hold any number of
// unknown fields, and nobody reads the 95,000th warning.
const DefaultMaxFindings = 100

// Options change how strictly bodies are judged.
type Options struct {
	// Strict turns every warning into an error.
	Strict bool
	// MaxFindings caps the findings of one body (0: DefaultMaxFindings).
	// Beyond it one more finding, CodeFindingsTruncated, counts the rest
	// by code. Errors are kept before warnings, and the work is bounded
	// too: findings beyond the cap are counted, not built.
	MaxFindings int
}

// Check decodes, classifies and validates one body. It never fails and never
// panics: every problem with the body is a finding. The returned Event is nil
// when the bytes are not a JSON object; its Kind is "" when it is none of the
// known kinds.
func Check(raw []byte, opts Options) (*Event, Findings) {
	ev, err := Decode(raw)
	return checkDecoded(ev, err, opts)
}

// CheckString is Check of a body held in a string (DecodeString). As with
// Check, a non-nil Event means raw is valid UTF-8: Decode refuses any other.
func CheckString(raw string, opts Options) (*Event, Findings) {
	ev, err := DecodeString(raw)
	return checkDecoded(ev, err, opts)
}

// checkDecoded is Check of what Decode returned.
func checkDecoded(ev *Event, err error, opts Options) (*Event, Findings) {
	if err != nil {
		return nil, Findings{err.(*DecodeError).Finding}
	}
	info, err := classifyInfo(ev.top.get)
	if err != nil {
		ce := err.(*ClassifyError)
		return ev, Findings{{Path: ce.Path, Severity: Error, Code: CodeUnknownKind, Message: ce.Message}}
	}
	ev.Kind, ev.info = info.Kind, info
	return ev, Validate(ev, opts)
}

// Validate checks a decoded, classified event against its kind's JSON Schema
// and the rules a schema cannot express: drift between the spec's revisions,
// legacy names, cross-field times, URLs, plausibility of timestamps. The
// findings are in report order (by path, errors first, then by code), at
// most opts.MaxFindings of them plus one that counts the rest.
func Validate(ev *Event, opts Options) Findings {
	info, ok := ev.kindInfo()
	if !ok {
		return Findings{{Severity: Error, Code: CodeUnknownKind, Message: fmt.Sprintf("unknown kind %q", ev.Kind)}}
	}
	v := &validator{info: info, max: opts.MaxFindings}
	if v.max <= 0 {
		v.max = DefaultMaxFindings
	}
	for i := range v.kept {
		v.kept[i] = bounded[keyedFinding]{k: v.max, less: reportBefore}
	}
	// The kind's fields are looked up once, for conforms and for object.
	var vals [maxLooked]any
	var present [maxLooked]bool
	body := fieldsOf{top: ev.top}
	fv := lookup(body, info.Fields, vals[:0], present[:0])
	if bodyConforms(info, fv) {
		// Nothing for the schema to find (see fastpath.go).
	} else if sch, err := compiledSchema(ev.Kind); err != nil {
		v.add("", Error, CodeSchema, "internal error compiling the schema: %v", err)
	} else {
		// (The schema library reads a map: made for the bodies it runs on.)
		doc := ev.Fields()
		if err := sch.Validate(doc); err != nil {
			if ve, ok := err.(*jsonschema.ValidationError); ok {
				v.schemaError(doc, ve)
			} else {
				v.add("", Error, CodeSchema, "%v", err)
			}
		}
	}
	v.object(body, info.Fields, info.Legacy, nil, &fv)
	v.intervals(body)
	v.duplicates(ev)
	fs := v.result()
	if opts.Strict {
		for i := range fs {
			fs[i].Severity = Error
		}
	}
	return fs
}

type validator struct {
	info *KindInfo
	max  int
	// kept holds, per severity (errors, warnings), the first max findings
	// in report order seen so far; the rest are only counted.
	kept    [2]bounded[keyedFinding]
	seq     int
	dropped map[Code]int
	// droppedErrors: an error is among the dropped.
	droppedErrors bool
}

// keyedFinding is a finding with the order it was found in, which breaks
// ties in report order the way a stable sort would.
type keyedFinding struct {
	Finding
	seq int
}

// reportBefore is the order findings are reported in: by path, errors
// before warnings, by code, then in the order they were found.
func reportBefore(a, b keyedFinding) bool {
	if a.Path != b.Path {
		return a.Path < b.Path
	}
	if a.Severity != b.Severity {
		return a.Severity == Error
	}
	if a.Code != b.Code {
		return a.Code < b.Code
	}
	return a.seq < b.seq
}

func sevIndex(s Severity) int {
	if s == Error {
		return 0
	}
	return 1
}

// add records a finding. Once max findings of its severity are kept, a
// finding that would come after all of them is counted without building
// its message.
func (v *validator) add(path string, sev Severity, code Code, format string, args ...any) {
	if h, key, ok := v.slot(path, sev, code); ok {
		key.Message = fmt.Sprintf(format, args...)
		v.keep(h, key)
	}
}

// addMsg is add with a message already made (most are made once, for
// every body that has the finding: see the drift messages).
func (v *validator) addMsg(path string, sev Severity, code Code, msg string) {
	if h, key, ok := v.slot(path, sev, code); ok {
		key.Message = msg
		v.keep(h, key)
	}
}

// slot numbers a finding and reports whether it would be kept; if not, it
// is counted as dropped.
func (v *validator) slot(path string, sev Severity, code Code) (*bounded[keyedFinding], keyedFinding, bool) {
	h := &v.kept[sevIndex(sev)]
	if h.h == nil {
		// Room for the few findings most bodies have, at once.
		h.h = make([]keyedFinding, 0, min(v.max, 4))
	}
	v.seq++
	key := keyedFinding{Finding: Finding{Path: path, Severity: sev, Code: code}, seq: v.seq}
	if !h.wouldKeep(key) {
		v.drop(code, sev, 1)
		return nil, key, false
	}
	return h, key, true
}

func (v *validator) keep(h *bounded[keyedFinding], key keyedFinding) {
	if out, evicted := h.offer(key); evicted {
		v.drop(out.Code, out.Severity, 1)
	}
}

func (v *validator) drop(code Code, sev Severity, n int) {
	if n <= 0 {
		return
	}
	if v.dropped == nil {
		v.dropped = map[Code]int{}
	}
	v.dropped[code] += n
	v.droppedErrors = v.droppedErrors || sev == Error
}

// result is the kept findings in report order, errors first when there are
// more than max in all, and one finding counting whatever was left out.
func (v *validator) result() Findings {
	errs, warns := v.kept[0].sorted(), v.kept[1].sorted()
	if room := v.max - len(errs); len(warns) > room {
		for _, w := range warns[room:] {
			v.drop(w.Code, w.Severity, 1)
		}
		warns = warns[:room]
	}
	if len(errs)+len(warns) == 0 && v.dropped == nil {
		return nil
	}
	// Both are in report order: merged, they are.
	fs := make(Findings, 0, len(errs)+len(warns)+1)
	for len(errs) > 0 || len(warns) > 0 {
		if len(warns) == 0 || len(errs) > 0 && reportBefore(errs[0], warns[0]) {
			fs, errs = append(fs, errs[0].Finding), errs[1:]
		} else {
			fs, warns = append(fs, warns[0].Finding), warns[1:]
		}
	}
	if v.dropped != nil {
		fs = append(fs, v.truncated())
	}
	return fs
}

// truncated is the finding that counts what was left out, by code, the
// most frequent first.
func (v *validator) truncated() Finding {
	type count struct {
		code Code
		n    int
	}
	var cs []count
	total := 0
	for c, n := range v.dropped {
		cs = append(cs, count{c, n})
		total += n
	}
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].n != cs[j].n {
			return cs[i].n > cs[j].n
		}
		return cs[i].code < cs[j].code
	})
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%d %s", c.n, c.code)
	}
	sev := Warning
	if v.droppedErrors {
		sev = Error
	}
	return Finding{Severity: sev, Code: CodeFindingsTruncated,
		Message: fmt.Sprintf("%d more findings not shown: %s (at most %d are reported per callback)", total, strings.Join(parts, ", "), v.max)}
}

var printer = message.NewPrinter(language.English)

// schemaError turns the schema library's error tree into findings with
// messages that say how to fix the body.
func (v *validator) schemaError(doc any, e *jsonschema.ValidationError) {
	loc := e.InstanceLocation
	path := pointer(loc...)
	f := fieldAt(v.info.Fields, loc)
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		for _, name := range k.Missing {
			if len(loc) == 0 && v.underLegacyName(doc, name) {
				continue // present under the spec table's name: a warning instead
			}
			what := ""
			if mf := fieldAt(v.info.Fields, child(loc, name)); mf != nil {
				what = " (" + mf.Doc + ")"
			}
			v.add(pointer(child(loc, name)...), Error, CodeMissingField,
				"missing required field %q%s", name, what)
		}
		return
	case *kind.AnyOf:
		if f != nil && f.Numeric {
			v.add(path, Error, CodeNotNumber, "%s cannot be read as a number: write digits, as a JSON number (%s) or a string (\"%s\")",
				shortJSON(valueAt(doc, loc)), exampleNumber(*f), exampleNumber(*f))
			return
		}
	case *kind.Type:
		want := strings.Join(k.Want, " or ")
		v.add(path, Error, CodeWrongType, "is a JSON %s; expected %s", k.Got, want)
		return
	case *kind.Enum:
		var want []string
		for _, w := range k.Want {
			want = append(want, fmt.Sprint(w))
		}
		v.add(path, Error, CodeNotAllowed, "%s is not allowed; expected one of %s", shortJSON(k.Got), strings.Join(want, ", "))
		return
	case *kind.MinItems:
		v.add(path, Error, CodeGroupEmpty, "%s has %d items; it holds %s", fieldName(f, loc), k.Got, itemsRange(f))
		return
	case *kind.MaxItems:
		v.add(path, Error, CodeGroupTooLong, "%s has %d items; it holds %s", fieldName(f, loc), k.Got, itemsRange(f))
		return
	}
	if len(e.Causes) == 0 {
		v.add(path, Error, CodeSchema, "%s", e.ErrorKind.LocalizedString(printer))
		return
	}
	for _, c := range e.Causes {
		v.schemaError(doc, c)
	}
}

// underLegacyName reports whether the body holds the required field name
// under a legacy name of the kind.
func (v *validator) underLegacyName(doc any, name string) bool {
	obj, _ := doc.(map[string]any)
	for old, target := range v.info.Legacy {
		if _, ok := obj[old]; ok && target == name {
			return true
		}
	}
	return false
}

func fieldName(f *Field, loc []string) string {
	if f != nil {
		return f.Name
	}
	if len(loc) > 0 {
		return loc[len(loc)-1]
	}
	return "the array"
}

// itemsRange says how many items an array field holds, and what they are.
func itemsRange(f *Field) string {
	if f == nil {
		return "another number of items"
	}
	what := f.Doc
	if names := fieldNames(f.Items); names != "" {
		what += " {" + names + "}"
	}
	switch {
	case f.MaxItems > 0:
		return fmt.Sprintf("%d to %d %s", f.MinItems, f.MaxItems, what)
	default:
		return fmt.Sprintf("at least %d %s", f.MinItems, what)
	}
}

func fieldNames(fields []Field) string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

// fieldAt finds the field description for an instance location such as
// ["group", "1", "endTime"].
func fieldAt(fields []Field, loc []string) *Field {
	var cur *Field
	for i := 0; i < len(loc); i++ {
		var next *Field
		for j := range fields {
			if fields[j].Name == loc[i] {
				next = &fields[j]
				break
			}
		}
		if next == nil {
			return nil
		}
		cur = next
		if cur.Type == TArray && i+1 < len(loc) {
			i++ // skip the index
		}
		fields = cur.Items
	}
	return cur
}

func valueAt(doc any, loc []string) any {
	for _, tok := range loc {
		switch d := doc.(type) {
		case map[string]any:
			doc = d[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(d) {
				return nil
			}
			doc = d[i]
		default:
			return nil
		}
	}
	return doc
}

func shortJSON(v any) string {
	b, err := jsonx.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 60 {
		return string(b[:57]) + "..."
	}
	return string(b)
}

func exampleNumber(f Field) string { return examples[exampleOf(&f)] }

// examples are the numbers messages show as the spec's form of a field:
// a time, a decimal, a whole number.
var examples = [3]string{"1553741853968", "18439.0", "6007851133"}

func exampleOf(f *Field) int {
	switch {
	case f.Millis:
		return 0
	case f.Decimal:
		return 1
	}
	return 2
}

// The drift messages, made once for each example rather than for each
// callback: a revision that drifts sends them on every one.
var numberForString, stringForNumber [len(examples)]string

func init() {
	for i, e := range examples {
		numberForString[i] = "is a JSON number; the spec's sample has a string (\"" + e + "\"); receivers must accept both"
		stringForNumber[i] = "is a string; the spec's sample has a JSON number (" + e + "); receivers must accept both"
	}
}

// object checks the fields of one JSON object (the body, or a group span)
// that a schema cannot: drift, padding, negatives, timestamps, URLs, unknown
// and legacy names.
// fv, when not nil, holds fields' values in obj, looked up already.
func (v *validator) object(obj fieldsOf, fields []Field, legacy map[string]string, at []string, fv *fieldValues) {
	known := 0
	for i := range fields {
		f := &fields[i]
		var val any
		var ok bool
		if fv != nil {
			val, ok = fv.get(i)
		} else {
			val, ok = obj.get(f.Name)
		}
		if ok {
			known++
			v.value(f, val, place{at, f.Name})
		}
	}
	if known == obj.len() {
		return // no name to look up: every one is a field of the kind
	}
	// Legacy names: few, each checked as the field it stands for.
	olds := make([]string, 0, len(legacy))
	for old := range legacy {
		if _, ok := obj.get(old); ok {
			olds = append(olds, old)
		}
	}
	sort.Strings(olds)
	for _, name := range olds {
		target := legacy[name]
		p := place{at, name}
		v.add(p.path(), Warning, CodeLegacyField, "%q is the name in the spec's table; its sample and the service use %q", name, target)
		if f := fieldAt(fields, []string{target}); f != nil {
			// The schema does not know legacy names: check the type here.
			val, _ := obj.get(name)
			if f.Numeric && !isNumeric(val) {
				v.add(p.path(), Error, CodeNotNumber, "%s cannot be read as a number", shortJSON(val))
			}
			v.value(f, val, p)
		}
	}
	// Unknown names: a body may hold any number of them. Only the first
	// ones by name (as many as can be reported) are looked at further;
	// the rest are counted.
	if known+len(olds) == obj.len() {
		return
	}
	first := bounded[string]{k: v.max, less: func(a, b string) bool { return a < b }}
	n := 0
	obj.each(func(name string) {
		if _, isLegacy := legacy[name]; isLegacy || hasField(fields, name) {
			return
		}
		n++
		if first.wouldKeep(name) {
			first.offer(name)
		}
	})
	names := first.sorted()
	v.drop(CodeUnknownField, Warning, n-len(names))
	for _, name := range names {
		v.add(place{at, name}.path(), Warning, CodeUnknownField, "unknown field %q: not in the spec for %s (receivers must ignore fields they do not know)", name, v.info.Kind)
	}
}

func hasField(fields []Field, name string) bool {
	for i := range fields {
		if fields[i].Name == name {
			return true
		}
	}
	return false
}

// place is where a value is; its JSON Pointer is built only when a finding
// needs it, since most values have none.
type place struct {
	at   []string
	name string
}

func (p place) path() string {
	if len(p.at) == 0 {
		if s, ok := table().pointers[p.name]; ok {
			return s // a field's or legacy name's, made once
		}
	}
	return pointer(child(p.at, p.name)...)
}

func (v *validator) value(f *Field, val any, p place) {
	if s, ok := val.(string); ok && s != trimSpaceASCII(s) && s != strings.TrimSpace(s) {
		v.add(p.path(), Warning, CodePadded, "%s is padded with white space; receivers comparing values exactly will miss it", shortJSON(s))
	}
	if s, ok := val.(string); ok && len(f.Expected) > 0 && !slices.Contains(f.Expected, strings.TrimSpace(s)) {
		v.unexpected(f, s, p)
	}
	switch {
	case f.Numeric:
		v.number(f, val, p)
	case f.ID:
		if n, ok := val.(json.Number); ok {
			v.addMsg(p.path(), Warning, CodeTypeDrift, "is the JSON number "+string(n)+"; the spec's sample has a string (\"163594946396839936\"); ids beyond 2^53 lose digits in float64 parsers, so receivers must keep them as text")
		}
	case f.URL:
		if s, ok := val.(string); ok {
			checkURL(v, p, s)
		}
	case f.Type == TArray:
		items, _ := val.([]any)
		loc := child(p.at, p.name)
		for i, it := range items {
			if m, ok := it.(map[string]any); ok {
				v.object(fieldsOf{m: m}, f.Items, nil, child(loc, strconv.Itoa(i)), nil)
			}
		}
	}
}

func (v *validator) number(f *Field, val any, p place) {
	var digits string
	switch n := val.(type) {
	case json.Number:
		digits = n.String()
		if f.Type == TString {
			v.addMsg(p.path(), Warning, CodeTypeDrift, numberForString[exampleOf(f)])
		}
	case string:
		if !isNumericString(n) {
			return // the schema reports it
		}
		digits = trimSpaceASCII(n)
		if f.Type == TNumber {
			v.addMsg(p.path(), Warning, CodeTypeDrift, stringForNumber[exampleOf(f)])
		}
	default:
		return // the schema reports it
	}
	if f.NonNegative && strings.HasPrefix(digits, "-") {
		v.addMsg(p.path(), Error, CodeNegative, digits+" is negative; a "+f.Doc+" cannot be")
		return
	}
	if !f.Decimal && notWhole(digits) {
		v.addMsg(p.path(), Warning, CodeDecimalString, digits+" is not a whole number; the spec's sample has an integer here")
	}
	if f.Millis {
		ms, ok := millisOf(digits)
		if !ok {
			return
		}
		switch {
		case ms >= 1e12 && ms < 4102444800000: // 2001-09-09 .. 2100-01-01
		case ms >= 1e9 && ms < 4102444800:
			v.addMsg(p.path(), Warning, CodeImplausibleTS, digits+" looks like seconds; the spec's timestamps are milliseconds since the epoch (13 digits)")
		default:
			v.addMsg(p.path(), Warning, CodeImplausibleTS, digits+" is not a plausible millisecond timestamp (13 digits, between 2001 and 2100)")
		}
	}
}

// millisOf reads a timestamp's digits: as an integer when they are one
// (every callback's, and cheaper), else as ParseFloat reads them.
func millisOf(digits string) (float64, bool) {
	if n, ok := parseInt(digits); ok && n > -1<<53 && n < 1<<53 {
		return float64(n), true
	}
	f, err := strconv.ParseFloat(digits, 64)
	return f, err == nil
}

// notWhole reports whether a number's digits hold a fraction or an
// exponent (a loop: strings.ContainsAny builds its byte set on each call,
// and every numeric field of every callback comes here).
func notWhole(digits string) bool {
	for i := 0; i < len(digits); i++ {
		if c := digits[i]; c == '.' || c == 'e' || c == 'E' {
			return true
		}
	}
	return false
}

func isNumeric(val any) bool {
	switch n := val.(type) {
	case json.Number:
		return true
	case string:
		return isNumericString(n)
	}
	return false
}

func checkURL(v *validator, p place, s string) {
	t := strings.TrimSpace(s)
	if plainHTTPURL(t) { // (which has no white space)
		return
	}
	if strings.ContainsAny(t, " \t\r\n") {
		v.add(p.path(), Error, CodeBadURL, "the URL contains white space; real download URLs have none")
		return
	}
	u, err := url.Parse(t)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.add(p.path(), Error, CodeBadURL, "%s is not an absolute http(s) URL", shortJSON(s))
	}
}

// plainHTTPURL accepts, without url.Parse's allocations, the URLs every
// callback carries: http(s)://host/path with nothing url.Parse could object
// to (no escapes, brackets, ports, user info or control bytes). Anything
// else takes the full parse. FuzzPlainHTTPURL checks that url.Parse accepts
// whatever this accepts.
func plainHTTPURL(s string) bool {
	rest, ok := strings.CutPrefix(s, "http://")
	if !ok {
		if rest, ok = strings.CutPrefix(s, "https://"); !ok {
			return false
		}
	}
	// The host runs to the first '/', '?' or '#', of letters, digits and
	// "-._~"; what follows it, of plain bytes (the scheme and such a host
	// are plain).
	n := 0
	for n < len(rest) && urlHost[rest[n]] {
		n++
	}
	if n == 0 || n < len(rest) && rest[n] != '/' && rest[n] != '?' && rest[n] != '#' {
		return false
	}
	return plainBytes(rest[n:])
}

// plainBytes reports whether every byte of s is one urlPlain lets through,
// eight at a time: a URL's path is most of its bytes, and the table's look
// per byte was 2% of a listener's instructions per request (FuzzPlainBytes
// holds it to the table).
func plainBytes(s string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	// A byte is flagged (its high bit set in m) when it is below 0x21 or
	// is one of 0x7f % [ \ ]: x-ones*v has the high bit of a byte below v
	// set, and of no byte from 0x80 on once masked with ^x; a byte equal
	// to v is a zero byte of x^ones*v. Borrows only flag bytes above a
	// flagged one, so m is nonzero exactly when a byte is not plain.
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := jsonx.Word(s[i : i+8])
		del, pct := x^(ones*0x7f), x^(ones*'%')
		lb, bs, rb := x^(ones*'['), x^(ones*'\\'), x^(ones*']')
		m := (x - ones*0x21) &^ x
		m |= (del - ones) &^ del
		m |= (pct - ones) &^ pct
		m |= (lb - ones) &^ lb
		m |= (bs - ones) &^ bs
		m |= (rb - ones) &^ rb
		if m&highs != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if !urlPlain[s[i]] {
			return false
		}
	}
	return true
}

// urlHost[c] is true for the bytes of a host plainHTTPURL lets through.
var urlHost = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
	}
	return t
}()

// urlPlain[c] is true for the bytes plainHTTPURL lets through: not white
// space or control bytes, DEL, '%', brackets or a backslash.
var urlPlain = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c > ' ' && c != 0x7f && c != '%' && c != '[' && c != ']' && c != '\\'
	}
	return t
}()

// unexpected reports a value outside a field's Expected ones (status,
// version): a warning, since receivers must still accept it.
func (v *validator) unexpected(f *Field, s string, p place) {
	note := ""
	switch t := strings.TrimSpace(s); {
	case slices.Contains(f.Older, t):
		note = fmt.Sprintf(" (%q is from an older revision)", t)
	case len(f.Older) > 0:
		note = fmt.Sprintf(" (an older revision also had %s)", orList(quoted(f.Older)))
	}
	v.add(p.path(), Warning, f.Unexpected, "%s is %s; the spec documents %s for %s%s", f.Name, shortJSON(s), orList(quoted(f.Expected)), v.info.Kind, note)
}

// intervals checks that the kind's pairs of times are in order, in the
// body (also under their legacy names) or in each object of an array.
func (v *validator) intervals(f fieldsOf) {
	for i, iv := range v.info.Intervals {
		if iv.In != "" {
			in, _ := f.get(iv.In)
			spans, _ := in.([]any)
			for i, s := range spans {
				if m, ok := s.(map[string]any); ok {
					v.order(fieldsOf{m: m}, iv.Begin, iv.End, pointer(iv.In, strconv.Itoa(i)))
				}
			}
			continue
		}
		v.order(f, iv.Begin, iv.End, "")
		if lg := v.info.legacyIntervals[i]; lg[0] != "" {
			v.order(f, lg[0], lg[1], "")
		}
	}
}

func (v *validator) order(obj fieldsOf, begin, end, at string) {
	bv, _ := obj.get(begin)
	ev, _ := obj.get(end)
	bi, okb := intOf(bv)
	ei, oke := intOf(ev)
	if okb && oke {
		if ei < bi {
			v.add(at+"/"+end, Error, CodeTimeOrder, "%s (%d) is before %s (%d)", end, ei, begin, bi)
		}
		return
	}
	b, okb := ratOf(bv)
	e, oke := ratOf(ev)
	if okb && oke && e.Cmp(b) < 0 {
		v.add(at+"/"+end, Error, CodeTimeOrder, "%s (%s) is before %s (%s)", end, e.RatString(), begin, b.RatString())
	}
}

func ratOf(val any) (*big.Rat, bool) {
	var s string
	switch n := val.(type) {
	case json.Number:
		s = n.String()
	case string:
		s = strings.TrimSpace(n)
	default:
		return nil, false
	}
	return new(big.Rat).SetString(s)
}

// intOf reads an integer time without allocating; ok is false for anything
// else (fractions, exponents, non-numbers), which order compares exactly.
func intOf(val any) (int64, bool) {
	var s string
	switch n := val.(type) {
	case json.Number:
		s = string(n)
	case string:
		s = trimSpaceASCII(n)
	default:
		return 0, false
	}
	return parseInt(s)
}

// parseInt is strconv.ParseInt(s, 10, 64) that sums up to 18 digits as it
// reads them (they cannot overflow) instead of going through strconv:
// every numeric field of every callback is read this way, some twice.
func parseInt(s string) (int64, bool) {
	digits := s
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		digits = s[1:]
	}
	if len(digits) == 0 || len(digits) > 18 {
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}
	var n int64
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if s[0] == '-' {
		n = -n
	}
	return n, true
}

// child returns loc extended by name, never sharing loc's backing array.
func child(loc []string, name string) []string {
	return append(append(make([]string, 0, len(loc)+1), loc...), name)
}

// duplicates reports the keys the body holds more than once. RFC 8259 says
// only that names "SHOULD be unique": encoding/json, JavaScript and most
// parsers keep the last value, some keep the first, strict ones refuse the
// body, so a receiver and whatever sits in front of it can read two
// different callbacks from the same bytes.
func (v *validator) duplicates(ev *Event) {
	for _, ptr := range ev.Duplicates {
		v.add(ptr, Warning, CodeDuplicateField, "appears more than once in its object: livecb reads the last value (as encoding/json and JavaScript do), other parsers keep the first or refuse the body; send each key once")
	}
	v.drop(CodeDuplicateField, Warning, ev.MoreDuplicates)
}
