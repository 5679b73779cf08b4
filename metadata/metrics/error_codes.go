package metrics

import (
	"reflect"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/network"
)

// errorCounts calls add once per error code in resp, as Kafka's
// AbstractResponse.errorCounts does for RequestMetrics' ErrorsPerSec:
// every ErrorCode field of the response, at any depth (the top level, per
// topic, per partition), NONE included. Produce and Fetch, the hot paths,
// are walked directly; other responses by reflection over the kmsg struct,
// skipping field types that hold no ErrorCode (cached per type).
func errorCounts(resp kmsg.Response, add func(code int16, n int)) {
	if fr, ok := resp.(*network.FileResponse); ok {
		resp = fr.Response
	}
	var c codeCounter
	switch r := resp.(type) {
	case nil:
		return
	case *kmsg.ProduceResponse:
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				c.add(r.Topics[i].Partitions[j].ErrorCode)
			}
		}
	case *kmsg.FetchResponse:
		c.add(r.ErrorCode)
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				c.add(r.Topics[i].Partitions[j].ErrorCode)
			}
		}
	default:
		walkCodes(reflect.ValueOf(resp), &c)
	}
	c.each(add)
}

// codeCounter counts error codes without allocating for the usual one or
// two distinct codes a response holds.
type codeCounter struct {
	codes [4]int16
	ns    [4]int
	n     int
	more  map[int16]int
}

func (c *codeCounter) add(code int16) {
	for i := 0; i < c.n; i++ {
		if c.codes[i] == code {
			c.ns[i]++
			return
		}
	}
	if c.n < len(c.codes) {
		c.codes[c.n], c.ns[c.n] = code, 1
		c.n++
		return
	}
	if c.more == nil {
		c.more = make(map[int16]int)
	}
	c.more[code]++
}

func (c *codeCounter) each(f func(code int16, n int)) {
	for i := 0; i < c.n; i++ {
		f(c.codes[i], c.ns[i])
	}
	for code, n := range c.more {
		f(code, n)
	}
}

var int16Type = reflect.TypeFor[int16]()

// holdsCodes caches, per type, whether a value of it can hold an
// ErrorCode field.
var holdsCodes sync.Map // reflect.Type → bool

func typeHoldsCodes(t reflect.Type) bool {
	if v, ok := holdsCodes.Load(t); ok {
		return v.(bool)
	}
	holdsCodes.Store(t, false) // a recursive type is settled by its other fields
	h := false
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		h = typeHoldsCodes(t.Elem())
	case reflect.Struct:
		for i := 0; i < t.NumField() && !h; i++ {
			f := t.Field(i)
			h = (f.Name == "ErrorCode" && f.Type == int16Type) || (f.IsExported() && typeHoldsCodes(f.Type))
		}
	}
	holdsCodes.Store(t, h)
	return h
}

func walkCodes(v reflect.Value, c *codeCounter) {
	if !typeHoldsCodes(v.Type()) {
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			walkCodes(v.Elem(), c)
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			walkCodes(v.Index(i), c)
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < v.NumField(); i++ {
			f := t.Field(i)
			switch {
			case f.Name == "ErrorCode" && f.Type == int16Type:
				c.add(int16(v.Field(i).Int()))
			case f.IsExported():
				walkCodes(v.Field(i), c)
			}
		}
	}
}

// errorName is Kafka's name of code (Errors.name()): "NONE" for 0,
// kerr's name otherwise (NOT_LEADER_OR_FOLLOWER for 6, Kafka's name
// since 2.6), UNKNOWN_SERVER_ERROR for a code kerr does not
// know (as Errors.forCode).
func errorName(code int16) string {
	switch code {
	case 0:
		return "NONE"
	case kerr.NotLeaderForPartition.Code: // kerr keeps the pre-2.6 name
		return "NOT_LEADER_OR_FOLLOWER"
	}
	if e := kerr.TypedErrorForCode(code); e != nil {
		return e.Message
	}
	return kerr.UnknownServerError.Message
}
