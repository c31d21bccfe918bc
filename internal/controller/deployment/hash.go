package deployment

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"

	"github.com/davecgh/go-spew/spew"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/rand"
)

// computeHash returns the pod-template-hash of template: FNV-32a over the
// template printed deeply (sorted keys, no Stringer methods, as upstream
// prints it), then the collision count in little-endian if set, rendered
// as a decimal string in the safe-encoding alphabet. The same template
// hashes as it does upstream, so ReplicaSet names match.
func computeHash(template *corev1.PodTemplateSpec, collisionCount *int32) string {
	h := fnv.New32a()
	printer := spew.ConfigState{Indent: " ", SortKeys: true, DisableMethods: true, SpewKeys: true}
	printer.Fprintf(h, "%#v", *template)
	if collisionCount != nil {
		b := make([]byte, 8)
		binary.LittleEndian.PutUint32(b, uint32(*collisionCount))
		h.Write(b) // a hash.Hash never fails to write
	}
	return rand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}
