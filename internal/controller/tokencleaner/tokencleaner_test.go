package tokencleaner

import (
	"context"
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/skiff/skiff/internal/auth/bootstraptoken"
	"github.com/skiff/skiff/internal/controller"
)

func TestSync(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)
	tok := func(id string, exp time.Time) *corev1.Secret {
		return bootstraptoken.Secret(bootstraptoken.Token{ID: id, Secret: "0123456789abcdef"}, bootstraptoken.SecretOptions{Expires: exp})
	}
	cases := []struct {
		name        string
		secret      *corev1.Secret
		wantDeleted bool
		wantRequeue time.Duration
	}{
		{"expired", tok("aaaaaa", now.Add(-time.Second)), true, 0},
		{"expires now", tok("bbbbbb", now), true, 0},
		{"expires later", tok("cccccc", now.Add(time.Hour)), false, time.Hour},
		{"never expires", tok("dddddd", time.Time{}), false, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client := fake.NewClientset(tc.secret)
			f := informers.NewSharedInformerFactory(client, 0)
			secrets := f.Core().V1().Secrets()
			c, err := New(Config{Client: client, Secrets: secrets, Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			if err := secrets.Informer().GetIndexer().Add(tc.secret); err != nil {
				t.Fatal(err)
			}
			err = c.sync(context.Background(), "kube-system/"+tc.secret.Name)
			var re *controller.RequeueError
			switch {
			case tc.wantRequeue > 0:
				if !errors.As(err, &re) || re.After != tc.wantRequeue {
					t.Fatalf("sync = %v, want a requeue after %v", err, tc.wantRequeue)
				}
			case err != nil:
				t.Fatalf("sync: %v", err)
			}
			_, err = client.CoreV1().Secrets("kube-system").Get(context.Background(), tc.secret.Name, metav1.GetOptions{})
			if deleted := err != nil; deleted != tc.wantDeleted {
				t.Errorf("deleted = %v (%v), want %v", deleted, err, tc.wantDeleted)
			}
		})
	}
	if isToken(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system"}, Type: corev1.SecretTypeOpaque}) {
		t.Error("an Opaque secret counts as a token")
	}
}
