package openapi

import "testing"

func BenchmarkBuildV2(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, err := BuildV2(testResources()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuildV3(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, err := BuildV3(testResources()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewService(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, err := NewService(testResources()); err != nil {
			b.Fatal(err)
		}
	}
}
