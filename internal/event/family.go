package event

import "slices"

// FamilyInfo is one family's entry in the family table.
type FamilyInfo struct {
	Family Family
	// Path is the family's path on livecb's listener with --family-paths
	// (and in the demo, and in the starter config's example URLs).
	Path string
	// Description says what the family's callbacks are about.
	Description string
	// Console is how the service's console (or its API) names the
	// family's callback URL.
	Console string
	// APIOnly families are configured through the service's API, not its
	// console; the starter config writes them switched off.
	APIOnly bool
}

const (
	FamilyStream   Family = "stream"
	FamilyRecord   Family = "record"
	FamilySnapshot Family = "snapshot"
	FamilyQuality  Family = "quality"
)

// families is the family table, in the console's order. Adding a family is
// adding an entry here (see CONTRIBUTING.md, "Adding a family").
var families = []FamilyInfo{
	{Family: FamilyStream, Path: "/stream",
		Description: "a stream started or stopped publishing",
		Console:     "pushing streaming callback address"},
	{Family: FamilyRecord, Path: "/record",
		Description: "recordings ready for download, automatic and from record tasks",
		Console:     "recording callback address"},
	{Family: FamilySnapshot, Path: "/snapshot",
		Description: "snapshots taken of a stream",
		Console:     "snapshot callback address"},
	{Family: FamilyQuality, Path: "/quality",
		Description: "quality problems detected in a stream, in a newer revision",
		Console:     "quality detection callback (configured through the API)", APIOnly: true},
}

// Families lists every family in the family table's order. It is kept up
// to date by RegisterFamily; read it, do not change it.
var Families = familyNames(families)

func familyNames(fs []FamilyInfo) []Family {
	out := make([]Family, len(fs))
	for i, f := range fs {
		out[i] = f.Family
	}
	return out
}

// FamilyInfos returns the family table, in its order.
func FamilyInfos() []FamilyInfo { return slices.Clone(table().families) }

// FamilyOf returns the table entry of family f, or false when f is none.
func FamilyOf(f Family) (FamilyInfo, bool) {
	for _, fi := range table().families {
		if fi.Family == f {
			return fi, true
		}
	}
	return FamilyInfo{}, false
}

// FamilyPaths returns every family's listener path (a new map each call).
func FamilyPaths() map[Family]string {
	out := map[Family]string{}
	for _, fi := range table().families {
		out[fi.Family] = fi.Path
	}
	return out
}

// KindsOf returns the kinds of family f, in Kinds' order.
func KindsOf(f Family) []Kind {
	var out []Kind
	for _, k := range table().kinds {
		if k.Family == f {
			out = append(out, k.Kind)
		}
	}
	return out
}
