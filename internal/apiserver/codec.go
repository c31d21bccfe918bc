package apiserver

import (
	"bytes"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"

	"github.com/skiff/skiff/internal/apiserver/kinds"
	"github.com/skiff/skiff/internal/storage"
)

// protoMagic starts every value written in Kubernetes protobuf: the
// serializer's prefix, then a runtime.Unknown envelope naming apiVersion
// and kind around the object's own protobuf bytes. JSON can never start
// with it, so a value's first bytes tell the two formats apart.
var protoMagic = []byte{'k', '8', 's', 0}

// codec is a resource's storage.Codec. Built-in kinds are written as
// Kubernetes protobuf, as upstream stores them, because it is several
// times cheaper to encode and decode than JSON and every write encodes
// and every watch event decodes. Custom resources and any type without
// generated protobuf methods are written as JSON with apiVersion and kind.
// Reading takes either format for every kind, so a data dir written as
// JSON keeps working and each object turns into protobuf on its next write.
//
// Both formats decode into a typed object (unstructured for custom
// resources) whose apiVersion and kind are the stored ones, and Encode
// sets obj's kind to the stored one, as the rest of the server expects.
// A codec is safe for concurrent use.
type codec struct {
	gvk     schema.GroupVersionKind
	newFunc func() runtime.Object
	json    runtime.Serializer
	proto   *protobuf.Serializer
	// writeProto reports whether Encode writes protobuf.
	writeProto bool
	// restore is the kind's Restore hook, or nil.
	restore func(runtime.Object)
}

func (s *Server) storageCodec(k *kinds.Kind, custom bool) storage.Codec {
	c := newStorageCodec(s.scheme, k.GVK, k.New, custom)
	c.restore = k.Restore
	return c
}

// newStorageCodec returns the codec of objects of kind gvk, made by
// newFunc; custom says they are custom resources (unstructured).
func newStorageCodec(scheme *runtime.Scheme, gvk schema.GroupVersionKind, newFunc func() runtime.Object, custom bool) *codec {
	c := &codec{gvk: gvk, newFunc: newFunc, proto: protobuf.NewSerializer(scheme, scheme)}
	if custom {
		c.json = unstructured.UnstructuredJSONScheme
		return c
	}
	c.json = kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme, scheme, kjson.SerializerOptions{})
	c.writeProto = hasProtobuf(newFunc())
	return c
}

// protoMessage is what the protobuf serializer needs of a type to encode
// it in one allocation and to decode it.
type protoMessage interface {
	runtime.ProtobufMarshaller
	Reset()
	Unmarshal([]byte) error
}

// hasProtobuf reports whether obj's type has generated protobuf methods
// (every type in k8s.io/api does; unstructured objects do not).
func hasProtobuf(obj runtime.Object) bool {
	_, ok := obj.(protoMessage)
	return ok
}

// Encode implements storage.Codec. It sets obj's apiVersion and kind.
func (c *codec) Encode(obj runtime.Object) ([]byte, error) {
	obj.GetObjectKind().SetGroupVersionKind(c.gvk)
	if c.writeProto {
		// The serializer sizes the message first and writes it into one
		// buffer from the allocator; keeping that buffer saves a copy.
		var w sliceWriter
		if err := c.proto.EncodeWithAllocator(obj, &w, &runtime.SimpleAllocator{}); err != nil {
			return nil, err
		}
		return w.b, nil
	}
	var buf bytes.Buffer
	if err := c.json.Encode(obj, &buf); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// Decode implements storage.Codec for values in either format.
func (c *codec) Decode(data []byte) (runtime.Object, error) {
	ser := c.json
	if bytes.HasPrefix(data, protoMagic) {
		ser = c.proto
	}
	obj, _, err := ser.Decode(data, nil, c.newFunc())
	if err != nil {
		return nil, fmt.Errorf("%s as %s: %w", c.gvk.Kind, formatName(ser), err)
	}
	if c.restore != nil {
		c.restore(obj)
	}
	return obj, nil
}

func formatName(ser runtime.Serializer) string {
	if _, ok := ser.(*protobuf.Serializer); ok {
		return "protobuf"
	}
	return "JSON"
}

// sliceWriter keeps what is written to it. The first Write is kept
// without copying: the serializer hands over a buffer it no longer uses.
type sliceWriter struct{ b []byte }

func (w *sliceWriter) Write(p []byte) (int, error) {
	if w.b == nil {
		w.b = p
	} else {
		w.b = append(w.b, p...)
	}
	return len(p), nil
}
