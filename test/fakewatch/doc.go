// Package fakewatch tells a test when an informer over client-go's fake
// clientsets has opened its watch.
//
// The fake object tracker sends an event only to watches open when the
// change is made, and it ignores resource versions: a change made after an
// informer's list but before its watch is lost for good, and a test that
// waits for it hangs. Tests that change objects under a running informer
// wait for the watch first:
//
//	client := fake.NewClientset(objs...)
//	watches := fakewatch.Track(client)
//	go run(ctx, client)
//	watches.Wait(t, "configmaps")
//	client.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{})
package fakewatch
