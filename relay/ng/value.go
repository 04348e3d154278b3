package ng

import "strconv"

// Kind is the type of a decoded ng value. The ng protocol carries the four
// bencode types (BEP 3); JSON payloads are mapped onto the same four.
type Kind uint8

// Value kinds. The zero Kind marks the zero Value ("absent").
const (
	KindInvalid Kind = iota
	KindString       // byte string (bencode "4:spam", JSON string)
	KindInt          // integer (bencode "i42e", JSON integral number)
	KindList         // list
	KindDict         // dictionary with keys in message order
)

func (k Kind) String() string {
	switch k {
	case KindString:
		return "string"
	case KindInt:
		return "integer"
	case KindList:
		return "list"
	case KindDict:
		return "dictionary"
	}
	return "invalid"
}

// Value is one decoded ng value. Dictionaries keep their keys in message
// order: rtpengine ignores bencode's sorted-key rule and Kamailio sends
// unsorted keys (ng-protocol.md b.1), and keeping the order lets a decoded
// message re-encode to the identical bytes and lets replies use rtpengine's
// key order.
//
// String values returned by Decode alias the decoded buffer; the buffer
// must not change while the Value is in use.
type Value struct {
	kind Kind
	str  []byte
	num  int64
	list []Value
	dict []Entry
}

// Entry is one key/value pair of a dictionary.
type Entry struct {
	Key   string
	Value Value
}

// String returns a string Value.
func String(s string) Value { return Value{kind: KindString, str: []byte(s)} }

// Bytes returns a string Value holding b (not copied).
func Bytes(b []byte) Value {
	if b == nil {
		b = []byte{}
	}
	return Value{kind: KindString, str: b}
}

// Int returns an integer Value.
func Int(n int64) Value { return Value{kind: KindInt, num: n} }

// List returns a list Value.
func List(items ...Value) Value {
	if items == nil {
		items = []Value{}
	}
	return Value{kind: KindList, list: items}
}

// Dict returns a dictionary Value with the entries in the given order.
func Dict(entries ...Entry) Value {
	if entries == nil {
		entries = []Entry{}
	}
	return Value{kind: KindDict, dict: entries}
}

// E is shorthand for an Entry.
func E(key string, v Value) Entry { return Entry{Key: key, Value: v} }

// Kind reports the value's type.
func (v Value) Kind() Kind { return v.kind }

// IsZero reports whether v is the zero (absent) Value.
func (v Value) IsZero() bool { return v.kind == KindInvalid }

// Bytes returns the bytes of a string value, or nil.
func (v Value) Bytes() []byte {
	if v.kind != KindString {
		return nil
	}
	return v.str
}

// Str returns a string value as a Go string; ok is false for other kinds.
func (v Value) Str() (s string, ok bool) {
	if v.kind != KindString {
		return "", false
	}
	return string(v.str), true
}

// Int returns an integer value; ok is false for other kinds.
func (v Value) Int() (n int64, ok bool) {
	if v.kind != KindInt {
		return 0, false
	}
	return v.num, true
}

// List returns the items of a list value, or nil.
func (v Value) List() []Value {
	if v.kind != KindList {
		return nil
	}
	return v.list
}

// Entries returns the entries of a dictionary value, in order, or nil.
func (v Value) Entries() []Entry {
	if v.kind != KindDict {
		return nil
	}
	return v.dict
}

// Get returns the value under key (exact match) in a dictionary, or the
// zero Value.
func (v Value) Get(key string) Value {
	for _, e := range v.Entries() {
		if e.Key == key {
			return e.Value
		}
	}
	return Value{}
}

// text returns a string value, or an integer value in decimal, as a string.
// ng clients are loose about which of the two they send for scalars
// (Kamailio sends `delete delay` as an integer, other clients as a string).
func (v Value) text() (string, bool) {
	switch v.kind {
	case KindString:
		return string(v.str), true
	case KindInt:
		return strconv.FormatInt(v.num, 10), true
	}
	return "", false
}
