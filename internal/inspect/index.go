// Package inspect is livecb's inspector: an index of the requests a listener
// received (fed live, one call per request, or read from capture logs, HAR
// and NDJSON files), the analysis of each stream's life (publish span,
// snapshots, quality problems, recordings) with what is wrong with it, the
// HTTP application that shows them in a browser (list, detail, timeline,
// resend) and the single-file HTML reports written for CI.
//
// The index keeps a small fixed-size summary per request, never its body:
// a record is read again, by its offset in a file or from a bounded window
// kept in memory, only when a page shows it.
package inspect

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livecb/livecb/internal/capture"
	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/term"
)

// Verdict is what the inspector says of a request at a glance.
type Verdict uint8

const (
	VerdictValid   Verdict = iota + 1 // a callback without findings
	VerdictWarning                    // a callback with warnings only
	VerdictInvalid                    // a callback with errors
	VerdictOther                      // not a POST: not a callback
	VerdictBroken                     // a line of a file that is no record
)

var verdictNames = [...]string{"", "valid", "warning", "invalid", "other", "broken"}

func (v Verdict) String() string {
	if int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return ""
}

// ParseVerdict is the Verdict named s ("valid", "warning", "invalid",
// "other", "broken"), false for any other name.
func ParseVerdict(s string) (Verdict, bool) {
	for i, n := range verdictNames {
		if i > 0 && n == s {
			return Verdict(i), true
		}
	}
	return 0, false
}

func verdictOf(callback bool, errs, warns int) Verdict {
	if !callback {
		return VerdictOther
	}
	switch {
	case errs > 0:
		return VerdictInvalid
	case warns > 0:
		return VerdictWarning
	}
	return VerdictValid
}

// kindIDs numbers the kinds of the event model (0: none or unknown).
var (
	kindNames = append([]string{""}, event.KindNames()...)
	kindIDs   = func() map[event.Kind]uint8 {
		m := map[event.Kind]uint8{}
		for i, k := range kindNames[1:] {
			m[event.Kind(k)] = uint8(i + 1)
		}
		return m
	}()
)

// maxCodes is how many distinct finding codes an entry remembers (for the
// list and the free-text filter; the detail has every finding).
const maxCodes = 4

// entry is the summary of one request: fixed size, no body. Every field
// is written once, before the entry is published (Index.publish), and
// never again.
type entry struct {
	id   int64 // position in the index, from 0
	seq  uint64
	time int64 // arrival, Unix nanoseconds (0: unknown)
	// off is the offset of its line in the file, -1 when not in one; in a
	// live index, where its record is in the window's stream of records
	// (-1: the window never held it). length is the length of that line
	// (without its newline), or of the record in the window.
	off     int64
	length  int64
	size    int64 // body bytes received
	file    uint16
	line    int32 // 1-based line in the file the user gave (0: none)
	status  int16 // answer status (0: none)
	kind    uint8
	verdict Verdict
	fwd     bool // the answer came from a forward target
	spilled bool // its record is in the inspector's temporary file
	errs    uint16
	warns   uint16
	method  uint32 // interned strings (0: none)
	path    uint32
	stream  uint32 // interned stream identity (0: none)
	codes   [maxCodes]uint32
	// (A live entry's record is in Index.win: an entry holds no pointer,
	// so that the collector never scans the index.)
}

// chunkSize entries are allocated together; the live window drops whole
// chunks.
const chunkSize = 4096

type chunk [chunkSize]entry

// view is what readers see of the index: immutable once published (a new
// chunk or a dropped one makes a new view).
type view struct {
	chunks []*chunk
	first  int64 // id of chunks[0][0]
}

// Index holds the summaries of requests, oldest first. One writer adds to
// it (the listener's hook, or the reader of a file); any number of readers
// query it at the same time without taking a lock the writer waits for.
type Index struct {
	// max is how many entries are kept (0: all); beyond, the oldest
	// chunk is dropped.
	max int64

	view  atomic.Pointer[view]
	count atomic.Int64 // entries published (ids 0..count-1 exist or were dropped)

	strs *interner

	// win holds the records of the newest entries of a live index; nil
	// for an index of files, whose records are read back by offset.
	win *window
}

func newIndex(max int64) *Index {
	ix := &Index{max: max, strs: newInterner()}
	ix.view.Store(&view{})
	return ix
}

// next returns the slot of the next entry, adding a chunk when needed. The
// writer fills it, then calls publish.
func (ix *Index) next() *entry {
	n := ix.count.Load()
	v := ix.view.Load()
	i := n - v.first
	c := i / chunkSize
	if c == int64(len(v.chunks)) {
		nv := &view{chunks: make([]*chunk, len(v.chunks), len(v.chunks)+1), first: v.first}
		copy(nv.chunks, v.chunks)
		nv.chunks = append(nv.chunks, new(chunk))
		if ix.max > 0 && int64(len(nv.chunks)-1)*chunkSize >= ix.max {
			// Keep about max entries: drop the oldest chunk.
			nv.chunks = nv.chunks[1:]
			nv.first += chunkSize
			if ix.win != nil {
				ix.win.releaseBefore(nv.first)
			}
		}
		ix.view.Store(nv)
		v = nv
		i = n - v.first
		c = i / chunkSize
	}
	e := &v.chunks[c][i%chunkSize] // (zero: a slot is used once)
	e.id, e.off = n, -1
	return e
}

// publish makes the entry filled since next visible to readers.
func (ix *Index) publish() { ix.count.Add(1) }

// held returns the line of e's record (with its newline) as the live
// window holds it, false when it holds none.
func (ix *Index) held(e *entry) ([]byte, bool) {
	if ix.win == nil {
		return nil, false
	}
	return ix.win.appendHeld(nil, e.id, e.seq, e.off, e.length)
}

// Len is the number of requests the index has seen (including those the
// live window dropped).
func (ix *Index) Len() int64 { return ix.count.Load() }

// first is the id of the oldest entry still held.
func (ix *Index) first() int64 { return ix.view.Load().first }

// get returns the entry of id, nil when it is not (or no longer) held.
func (ix *Index) get(id int64) *entry {
	n := ix.count.Load()
	v := ix.view.Load()
	if id < v.first || id >= n {
		return nil
	}
	i := id - v.first
	if i/chunkSize >= int64(len(v.chunks)) {
		return nil
	}
	return &v.chunks[i/chunkSize][i%chunkSize]
}

// each calls fn for held entries from the newest to the oldest, until fn
// returns false.
func (ix *Index) each(fn func(*entry) bool) {
	n := ix.count.Load()
	v := ix.view.Load()
	for id := n - 1; id >= v.first; id-- {
		i := id - v.first
		if i/chunkSize >= int64(len(v.chunks)) {
			continue
		}
		if !fn(&v.chunks[i/chunkSize][i%chunkSize]) {
			return
		}
	}
}

// StreamKey is the identity of a stream: what every callback about it says.
type StreamKey struct {
	Domain string `json:"publishDomain"`
	App    string `json:"appName"`
	Name   string `json:"streamName"`
}

func (k StreamKey) String() string { return k.Domain + "/" + k.App + "/" + k.Name }

// ParseStreamKey splits "domain/app/name" (the name may hold slashes).
func ParseStreamKey(s string) (StreamKey, bool) {
	d, rest, ok1 := strings.Cut(s, "/")
	a, n, ok2 := strings.Cut(rest, "/")
	return StreamKey{d, a, n}, ok1 && ok2
}

// Interned strings are cut to maxInterned bytes (the detail shows the whole
// value from the record), and at most maxStrings distinct values are kept:
// past that, new values are not indexed (overflowID) so that a hostile
// sender making up a new stream name per request cannot grow the index
// without bound.
const (
	maxInterned = 256
	maxStrings  = 1 << 16
	overflowID  = 1
)

// overflowText is what the list shows for a value past maxStrings.
const overflowText = "(not indexed: too many distinct values)"

// interned is one string of the index: as received (cut), and lower-cased
// for the free-text filter.
type interned struct {
	s     string
	lower string
}

// interner numbers strings (writers, under mu: the maps) and lets readers
// look them up by number without a lock (the published table). A live
// index's writers are the listener's requests, each summarised on its own
// goroutine before it is committed (Inspector.Prepare).
type interner struct {
	mu      sync.Mutex
	ids     map[string]uint32
	streams map[StreamKey]uint32
	keys    []StreamKey // by stream id (writer side; copied into tab)
	tab     atomic.Pointer[strTable]
}

type strTable struct {
	strs    []interned  // by id
	streams []StreamKey // by stream id
	lowers  []string    // by stream id: the identity lower-cased, for the text filter
}

func newInterner() *interner {
	in := &interner{ids: map[string]uint32{}, streams: map[StreamKey]uint32{}}
	// 0: none; 1: overflow.
	in.tab.Store(&strTable{strs: []interned{{}, {s: overflowText, lower: strings.ToLower(overflowText)}},
		streams: []StreamKey{{}, {Name: overflowText}}, lowers: []string{"", strings.ToLower(overflowText)}})
	return in
}

// id returns s's number, adding it when new (mu held).
func (in *interner) id(s string) uint32 {
	if s == "" {
		return 0
	}
	if len(s) > maxInterned {
		s = cut(s, maxInterned)
	}
	if id, ok := in.ids[s]; ok {
		return id
	}
	t := in.tab.Load()
	if len(t.strs) >= maxStrings {
		return overflowID
	}
	s = strings.Clone(s) // never keep a whole body alive for its substring
	id := uint32(len(t.strs))
	in.ids[s] = id
	// Append to the published table: readers only index below their
	// table's length, and append never moves what they read (a grown
	// array is a copy; the old one stays valid for them).
	nt := &strTable{strs: append(t.strs, interned{s: s, lower: strings.ToLower(s)}), streams: t.streams, lowers: t.lowers}
	in.tab.Store(nt)
	return id
}

// stream returns the number of a stream identity (mu held).
func (in *interner) stream(k StreamKey) uint32 {
	if k == (StreamKey{}) {
		return 0
	}
	if id, ok := in.streams[k]; ok {
		return id
	}
	t := in.tab.Load()
	if len(t.streams) >= maxStrings {
		return overflowID
	}
	k = StreamKey{strings.Clone(cut(k.Domain, maxInterned)), strings.Clone(cut(k.App, maxInterned)), strings.Clone(cut(k.Name, maxInterned))}
	if id, ok := in.streams[k]; ok {
		return id
	}
	id := uint32(len(t.streams))
	in.streams[k] = id
	in.tab.Store(&strTable{strs: t.strs, streams: append(t.streams, k), lowers: append(t.lowers, strings.ToLower(k.String()))})
	return id
}

func (in *interner) str(id uint32) interned {
	t := in.tab.Load()
	if int(id) < len(t.strs) {
		return t.strs[id]
	}
	return interned{}
}

func (in *interner) streamLower(id uint32) string {
	t := in.tab.Load()
	if int(id) < len(t.lowers) {
		return t.lowers[id]
	}
	return ""
}

func (in *interner) streamKey(id uint32) StreamKey {
	t := in.tab.Load()
	if int(id) < len(t.streams) {
		return t.streams[id]
	}
	return StreamKey{}
}

// findStream returns the number of k, false when the index has none. The
// map is the writer's: readers search the published table (once per
// query).
func (in *interner) findStream(k StreamKey) (uint32, bool) {
	t := in.tab.Load()
	for i := 2; i < len(t.streams); i++ {
		if t.streams[i] == k {
			return uint32(i), true
		}
	}
	return 0, false
}

// cut returns the first n bytes of s, not splitting a UTF-8 sequence.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// summarize fills e with what the index keeps of rec (all but e's place:
// id, off, length, file, line). ev is the decoded body when the caller has
// it (nil: it is decoded here when needed). Any number of goroutines may
// summarise at once, each with its own memo.
func (ix *Index) summarize(e *entry, rec *capture.Record, callback bool, ev *event.Event, body []byte, m *memo) {
	e.seq = rec.Seq
	if !rec.Time.IsZero() {
		e.time = rec.Time.UnixNano()
	}
	e.size = rec.Size
	e.status = int16(rec.Answer.Status)
	e.fwd = rec.Answer.Forwarded != nil
	if m.of != ix.strs {
		*m = memo{of: ix.strs} // (another index's numbers)
	}
	if rec.Kind != m.kind || !m.kindSet {
		m.kind, m.kindID, m.kindSet = rec.Kind, kindIDs[rec.Kind], true
	}
	e.kind = m.kindID
	errs, warns := rec.Findings.Count()
	e.verdict = verdictOf(callback, errs, warns)
	e.errs, e.warns = clamp16(errs), clamp16(warns)
	path, _, _ := strings.Cut(rec.Target, "?")
	if ev == nil && body != nil {
		ev, _ = event.Decode(body)
	}
	var key StreamKey
	if ev != nil {
		id := ev.Identity()
		key = StreamKey{cut(id.Domain, maxInterned), cut(id.App, maxInterned), cut(id.Stream, maxInterned)}
	}
	// The strings of a request are most often those of the one before:
	// the memo's numbers then do, without the interner's lock.
	if m.numbers(e, rec.Method, path, rec.Findings, key) {
		return
	}
	in := ix.strs
	in.mu.Lock()
	defer in.mu.Unlock()
	e.method = m.remember(in, rec.Method)
	e.path = m.remember(in, path)
	e.codes = [maxCodes]uint32{}
	n := 0
	for _, f := range rec.Findings {
		if n == maxCodes {
			break
		}
		id := m.remember(in, string(f.Code))
		if !slices.Contains(e.codes[:n], id) {
			e.codes[n] = id
			n++
		}
	}
	e.stream = in.stream(key)
	if e.stream != overflowID {
		m.stream, m.streamID = key, e.stream
	}
}

// memo remembers the numbers of the last strings one summariser met. A
// number never changes once given, so a memo is never stale.
type memo struct {
	of       *interner // whose numbers
	strs     [8]memoStr
	next     int // the slot replaced next
	stream   StreamKey
	streamID uint32
	kind     event.Kind
	kindID   uint8
	kindSet  bool
}

type memoStr struct {
	s  string // as interned (cut): the interner's copy
	id uint32
}

// lookup returns s's number if the memo has it.
func (m *memo) lookup(s string) (uint32, bool) {
	if s == "" {
		return 0, true
	}
	s = cut(s, maxInterned)
	for i := range m.strs {
		if m.strs[i].id != 0 && m.strs[i].s == s {
			return m.strs[i].id, true
		}
	}
	return 0, false
}

// numbers fills e's strings from the memo alone, false when it lacks one.
func (m *memo) numbers(e *entry, method, path string, fs event.Findings, key StreamKey) bool {
	var ok bool
	if e.method, ok = m.lookup(method); !ok {
		return false
	}
	if e.path, ok = m.lookup(path); !ok {
		return false
	}
	e.codes = [maxCodes]uint32{}
	n := 0
	for _, f := range fs {
		if n == maxCodes {
			break
		}
		id, ok := m.lookup(string(f.Code))
		if !ok {
			return false
		}
		if !slices.Contains(e.codes[:n], id) {
			e.codes[n] = id
			n++
		}
	}
	switch {
	case key == StreamKey{}:
		e.stream = 0
	case m.streamID != 0 && key == m.stream:
		e.stream = m.streamID
	default:
		return false
	}
	return true
}

// remember returns s's number from the interner (its lock held) and keeps
// it in the memo.
func (m *memo) remember(in *interner, s string) uint32 {
	if id, ok := m.lookup(s); ok {
		return id
	}
	id := in.id(s)
	if id != overflowID {
		m.strs[m.next] = memoStr{s: in.str(id).s, id: id}
		m.next = (m.next + 1) % len(m.strs)
	}
	return id
}

func clamp16(n int) uint16 {
	if n > 0xFFFF {
		return 0xFFFF
	}
	return uint16(n)
}

// Row is one request as the list shows it.
type Row struct {
	ID     int64      `json:"id"`
	Seq    uint64     `json:"seq"`
	Time   *time.Time `json:"time,omitempty"`
	Method string     `json:"method"`
	Path   string     `json:"path"`
	Kind   string     `json:"kind"`
	Stream *StreamKey `json:"stream,omitempty"` // exact: filters and links use it
	// StreamText is the stream as shown: its invisible and control
	// characters escaped, as every string of a Row but Stream.
	StreamText string   `json:"streamText,omitempty"`
	Verdict    string   `json:"verdict"`
	Errors     int      `json:"errors"`
	Warnings   int      `json:"warnings"`
	Codes      []string `json:"codes,omitempty"`
	Status     int      `json:"status"`
	Forward    bool     `json:"forwarded,omitempty"`
	Size       int64    `json:"size"`
	File       string   `json:"file,omitempty"`
	Line       int      `json:"line,omitempty"`
	// Text is what the free-text filter searches, lower-cased: the
	// values above, one per line (reports filter on it in the browser).
	Text string `json:"text,omitempty"`
}

func (ix *Index) row(e *entry, files []string) Row {
	r := Row{ID: e.id, Seq: e.seq, Method: term.Sanitize(ix.strs.str(e.method).s), Path: term.Sanitize(ix.strs.str(e.path).s),
		Kind: kindNames[e.kind], Verdict: e.verdict.String(), Errors: int(e.errs), Warnings: int(e.warns),
		Status: int(e.status), Forward: e.fwd, Size: e.size, Line: int(e.line)}
	if e.time != 0 {
		t := time.Unix(0, e.time)
		r.Time = &t
	}
	if e.stream != 0 {
		k := ix.strs.streamKey(e.stream)
		r.Stream, r.StreamText = &k, term.Sanitize(k.String())
	}
	for _, c := range e.codes {
		if c != 0 {
			r.Codes = append(r.Codes, term.Sanitize(ix.strs.str(c).s))
		}
	}
	if int(e.file) < len(files) && e.line > 0 {
		r.File = term.Sanitize(files[e.file])
	}
	return r
}

// Filter selects requests. Zero fields select everything.
type Filter struct {
	Kind    string // a kind name, or "none" for requests of no known kind
	Verdict Verdict
	Stream  *StreamKey
	// Text is searched, case-insensitively, in the method, path, kind,
	// stream identity, status and finding codes.
	Text string
}

// matcher is a Filter prepared for the entries of one index.
type matcher struct {
	ix     *Index
	kind   int // -1: any
	f      Filter
	stream uint32
	none   bool // the stream is not in the index: nothing matches
	text   string
}

func (ix *Index) matcher(f Filter) *matcher {
	m := &matcher{ix: ix, kind: -1, f: f, text: strings.ToLower(strings.TrimSpace(f.Text))}
	if f.Kind != "" {
		m.kind = 0
		if f.Kind != "none" {
			id, ok := kindIDs[event.Kind(f.Kind)]
			if !ok {
				m.none = true
			}
			m.kind = int(id)
		}
	}
	if f.Stream != nil {
		id, ok := ix.strs.findStream(*f.Stream)
		m.stream, m.none = id, m.none || !ok
	}
	return m
}

func (m *matcher) match(e *entry) bool {
	switch {
	case m.none:
		return false
	case m.kind >= 0 && int(e.kind) != m.kind:
		return false
	case m.f.Verdict != 0 && e.verdict != m.f.Verdict:
		return false
	case m.f.Stream != nil && e.stream != m.stream:
		return false
	case m.text != "":
		return m.textMatch(e)
	}
	return true
}

// textMatch is the free-text filter: one place says what it searches (the
// report's rows carry the same values in Row.Text), without allocating: a
// page of the live list runs it over every held entry.
func (m *matcher) textMatch(e *entry) bool {
	found := false
	m.ix.eachText(e, func(s string) bool {
		found = strings.Contains(s, m.text)
		return !found
	})
	return found
}

// eachText calls fn with what the free-text filter searches in an entry,
// lower-cased, one value at a time, until fn returns false.
func (ix *Index) eachText(e *entry, fn func(string) bool) {
	if !fn(ix.strs.str(e.method).lower) || !fn(ix.strs.str(e.path).lower) || !fn(kindNames[e.kind]) || !fn(e.verdict.String()) {
		return
	}
	if e.status > 0 && int(e.status) < len(statusTexts) && !fn(statusTexts[e.status]) {
		return
	}
	if e.stream != 0 && !fn(ix.strs.streamLower(e.stream)) {
		return
	}
	for _, c := range e.codes {
		if c != 0 && !fn(ix.strs.str(c).lower) {
			return
		}
	}
}

// statusTexts are the statuses as text, made once.
var statusTexts = func() (t [1000]string) {
	for i := range t {
		t[i] = strconv.Itoa(i)
	}
	return t
}()

// haystack is every value eachText gives, for a report's rows.
func (ix *Index) haystack(e *entry) []string {
	var out []string
	ix.eachText(e, func(s string) bool {
		out = append(out, strings.Clone(s))
		return true
	})
	return out
}

// Page is one page of the list, newest first.
type Page struct {
	Rows []Row `json:"rows"`
	// Matched is how many held requests match the filter; Total how many
	// the index has seen, Held how many it still holds.
	Matched int   `json:"matched"`
	Total   int64 `json:"total"`
	Held    int64 `json:"held"`
	// Older is the cursor of the next (older) page, -1 when none.
	Older int64 `json:"older"`
	// Newest is the id of the newest request the index had when the page
	// was made (-1: none): a client asks again when it changes.
	Newest int64 `json:"newest"`
}

// Query returns up to limit matching requests older than before (before
// < 0: from the newest), newest first.
func (ix *Index) Query(f Filter, before int64, limit int, files []string) Page {
	m := ix.matcher(f)
	total := ix.Len()
	p := Page{Rows: []Row{}, Total: total, Held: total - ix.first(), Older: -1, Newest: total - 1}
	ix.each(func(e *entry) bool {
		if e.id >= total {
			return true
		}
		if !m.match(e) {
			return true
		}
		p.Matched++
		if before >= 0 && e.id >= before {
			return true
		}
		if len(p.Rows) < limit {
			p.Rows = append(p.Rows, ix.row(e, files))
		} else if p.Older < 0 {
			p.Older = p.Rows[len(p.Rows)-1].ID
		}
		return true
	})
	return p
}

// StreamInfo is one stream and how many requests are about it.
type StreamInfo struct {
	Key  StreamKey `json:"key"`  // exact
	Text string    `json:"text"` // as shown

	Requests int            `json:"requests"`
	Kinds    map[string]int `json:"kinds"`
	Invalid  int            `json:"invalid"`
	First    *time.Time     `json:"first,omitempty"`
	Last     *time.Time     `json:"last,omitempty"`
	lastID   int64
}

// Streams lists the streams of the held requests, the most recently active
// first, at most limit of them.
func (ix *Index) Streams(limit int) []StreamInfo {
	by := map[uint32]*StreamInfo{}
	var order []*StreamInfo
	ix.each(func(e *entry) bool {
		if e.stream == 0 {
			return true
		}
		si := by[e.stream]
		if si == nil {
			k := ix.strs.streamKey(e.stream)
			si = &StreamInfo{Key: k, Text: term.Sanitize(k.String()), Kinds: map[string]int{}, lastID: e.id}
			by[e.stream] = si
			order = append(order, si)
		}
		si.Requests++
		if e.kind != 0 {
			si.Kinds[kindNames[e.kind]]++
		}
		if e.verdict == VerdictInvalid {
			si.Invalid++
		}
		if e.time != 0 {
			t := time.Unix(0, e.time)
			if si.Last == nil || t.After(*si.Last) {
				si.Last = &t
			}
			if si.First == nil || t.Before(*si.First) {
				si.First = &t
			}
		}
		return true
	})
	// each walks newest first: order is by most recent request already.
	out := make([]StreamInfo, 0, min(len(order), limit))
	for _, si := range order {
		if len(out) == limit {
			break
		}
		out = append(out, *si)
	}
	return out
}

// streamEntries returns the held entries of stream k, oldest first, at
// most limit (the newest ones), and how many more were left out.
func (ix *Index) streamEntries(k StreamKey, limit int) ([]*entry, int) {
	id, ok := ix.strs.findStream(k)
	if !ok {
		return nil, 0
	}
	var out []*entry
	left := 0
	total := ix.Len()
	ix.each(func(e *entry) bool {
		if e.stream == id && e.id < total {
			if len(out) < limit {
				out = append(out, e)
			} else {
				left++
			}
		}
		return true
	})
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, left
}
