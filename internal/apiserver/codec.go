package apiserver

import (
	"bytes"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"

	"github.com/skiff/skiff/internal/apiserver/kinds"
	"github.com/skiff/skiff/internal/storage"
)

// jsonCodec stores objects as JSON with apiVersion and kind, so that
// `etcdctl get` shows readable objects.
type jsonCodec struct {
	gvk     schema.GroupVersionKind
	newFunc func() runtime.Object
	ser     runtime.Serializer
}

func (s *Server) storageCodec(k *kinds.Kind, custom bool) storage.Codec {
	if custom {
		return jsonCodec{gvk: k.GVK, newFunc: k.New, ser: unstructured.UnstructuredJSONScheme}
	}
	return jsonCodec{gvk: k.GVK, newFunc: k.New,
		ser: kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, s.scheme, s.scheme, kjson.SerializerOptions{})}
}

func (c jsonCodec) Encode(obj runtime.Object) ([]byte, error) {
	obj.GetObjectKind().SetGroupVersionKind(c.gvk)
	var buf bytes.Buffer
	if err := c.ser.Encode(obj, &buf); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

func (c jsonCodec) Decode(data []byte) (runtime.Object, error) {
	into := c.newFunc()
	obj, _, err := c.ser.Decode(data, nil, into)
	if err != nil {
		return nil, err
	}
	return obj, nil
}
