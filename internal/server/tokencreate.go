package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/skiff/skiff/internal/auth/bootstraptoken"
	"github.com/skiff/skiff/internal/pki"
)

// CreateJoinToken is `skiff token create`: it stores a new join token as
// a bootstrap token Secret through the API of the admin kubeconfig at
// path, expiring after ttl (0: never), and returns it as a K10 token
// pinning that kubeconfig's CA.
func CreateJoinToken(ctx context.Context, path string, ttl time.Duration, desc string) (string, error) {
	rc, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return "", fmt.Errorf("load kubeconfig: %w", err)
	}
	caPEM := rc.CAData
	if len(caPEM) == 0 && rc.CAFile != "" {
		if caPEM, err = os.ReadFile(rc.CAFile); err != nil {
			return "", fmt.Errorf("read CA: %w", err)
		}
	}
	if len(caPEM) == 0 {
		return "", errors.New("the kubeconfig names no certificate authority, so the token cannot pin it")
	}
	hash, err := pki.CAHash(caPEM)
	if err != nil {
		return "", err
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return "", err
	}
	opts := bootstraptoken.SecretOptions{Description: desc}
	if ttl > 0 {
		opts.Expires = time.Now().Add(ttl)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for range 3 { // a new random ID collides with an existing one only by bad luck
		t, err := bootstraptoken.Generate(hash)
		if err != nil {
			return "", err
		}
		_, err = client.CoreV1().Secrets(bootstraptoken.SecretNamespace).Create(ctx, bootstraptoken.Secret(t, opts), metav1.CreateOptions{FieldManager: "skiff"})
		if apierrors.IsAlreadyExists(err) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("store token: %w", err)
		}
		return t.String(), nil
	}
	return "", errors.New("store token: token IDs kept colliding")
}
