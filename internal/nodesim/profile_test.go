package nodesim_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

// profile is the part of a pprof profile.proto the benchmark reads:
// samples with their values, labels and stacks, and the function names.
type profile struct {
	types   []string // sample type names, by value index
	samples []sample
	locs    map[uint64][]uint64 // location id → function ids
	funcs   map[uint64]string   // function id → name
}

type sample struct {
	locs   []uint64
	values []int64
	labels map[string]string
}

// parseProfile decodes a gzipped profile.proto.
func parseProfile(gz []byte) (*profile, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	p := &profile{locs: map[uint64][]uint64{}, funcs: map[uint64]string{}}
	var (
		strs     []string
		typeIdx  []int64
		labelIdx [][][2]int64 // per sample: (key, str) string indexes
		funcIdx  = map[uint64]int64{}
	)
	err = fields(raw, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		switch num {
		case 1: // sample_type
			return fields(v, func(n protowire.Number, _ protowire.Type, _ []byte, x uint64) error {
				if n == 1 {
					typeIdx = append(typeIdx, int64(x))
				}
				return nil
			})
		case 2: // sample
			var s sample
			var labels [][2]int64
			err := fields(v, func(n protowire.Number, t protowire.Type, b []byte, x uint64) error {
				switch n {
				case 1:
					s.locs = append(s.locs, varints(t, b, x)...)
				case 2:
					for _, u := range varints(t, b, x) {
						s.values = append(s.values, int64(u))
					}
				case 3:
					var kv [2]int64
					err := fields(b, func(n protowire.Number, _ protowire.Type, _ []byte, x uint64) error {
						if n == 1 || n == 2 {
							kv[n-1] = int64(x)
						}
						return nil
					})
					labels = append(labels, kv)
					return err
				}
				return nil
			})
			p.samples = append(p.samples, s)
			labelIdx = append(labelIdx, labels)
			return err
		case 4: // location
			var id uint64
			var fns []uint64
			err := fields(v, func(n protowire.Number, _ protowire.Type, b []byte, x uint64) error {
				switch n {
				case 1:
					id = x
				case 4: // line
					return fields(b, func(n protowire.Number, _ protowire.Type, _ []byte, x uint64) error {
						if n == 1 {
							fns = append(fns, x)
						}
						return nil
					})
				}
				return nil
			})
			p.locs[id] = fns
			return err
		case 5: // function
			var id uint64
			var name int64
			err := fields(v, func(n protowire.Number, _ protowire.Type, _ []byte, x uint64) error {
				switch n {
				case 1:
					id = x
				case 2:
					name = int64(x)
				}
				return nil
			})
			funcIdx[id] = name
			return err
		case 6: // string_table
			strs = append(strs, string(v))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	str := func(i int64) string {
		if i < 0 || int(i) >= len(strs) {
			return ""
		}
		return strs[i]
	}
	for _, i := range typeIdx {
		p.types = append(p.types, str(i))
	}
	for i := range p.samples {
		p.samples[i].labels = map[string]string{}
		for _, kv := range labelIdx[i] {
			p.samples[i].labels[str(kv[0])] = str(kv[1])
		}
	}
	for id, name := range funcIdx {
		p.funcs[id] = str(name)
	}
	return p, nil
}

// sum adds up value typ of the samples that match.
func (p *profile) sum(typ string, match func(sample) bool) int64 {
	idx := -1
	for i, t := range p.types {
		if t == typ {
			idx = i
		}
	}
	var total int64
	for _, s := range p.samples {
		if idx >= 0 && idx < len(s.values) && (match == nil || match(s)) {
			total += s.values[idx]
		}
	}
	return total
}

// inStack reports whether a function whose name contains substr is on
// the sample's stack.
func (p *profile) inStack(s sample, substr string) bool {
	for _, l := range s.locs {
		for _, f := range p.locs[l] {
			if strings.Contains(p.funcs[f], substr) {
				return true
			}
		}
	}
	return false
}

// fields calls fn for each field of a protobuf message: the bytes of
// length-delimited fields, the value of varints.
func fields(b []byte, fn func(protowire.Number, protowire.Type, []byte, uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var (
			v []byte
			x uint64
		)
		switch typ {
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(b)
		case protowire.Fixed32Type:
			var y uint32
			y, n = protowire.ConsumeFixed32(b)
			x = uint64(y)
		default:
			return fmt.Errorf("unexpected wire type %d", typ)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if err := fn(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}

// varints reads a repeated varint field, packed or not.
func varints(t protowire.Type, b []byte, x uint64) []uint64 {
	if t == protowire.VarintType {
		return []uint64{x}
	}
	var out []uint64
	for len(b) > 0 {
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			break
		}
		out = append(out, v)
		b = b[n:]
	}
	return out
}
