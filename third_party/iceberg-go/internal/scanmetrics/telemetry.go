// Licensed to the Apache Software Foundation (ASF) under one
// or more contributor license agreements.  See the NOTICE file
// distributed with this work for additional information
// regarding copyright ownership.  The ASF licenses this file
// to you under the Apache License, Version 2.0 (the
// "License"); you may not use this file except in compliance
// with the License.  You may obtain a copy of the License at
//
//   http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing,
// software distributed under the License is distributed on an
// "AS IS" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY
// KIND, either express or implied.  See the License for the
// specific language governing permissions and limitations
// under the License.

// Package scanmetrics instruments client-side scan planning. Attribute values
// are bounded operation/outcome names; filters, credentials, table names, plan
// tokens, paths, and server error messages are never exported.
//
// ckm: upstream reports these to OpenTelemetry's global providers, which
// are no-ops in a program that installs no OpenTelemetry SDK, as ckm does
// not; here they are no-ops without linking OpenTelemetry (CKM-PATCH.md).
package scanmetrics

import "context"

// Start traces a logical operation, including its retries (a no-op here).
func Start(ctx context.Context, operation string) (context.Context, func(error)) {
	return ctx, func(error) {}
}

// Retry records an additional attempt after a transient HTTP failure.
func Retry(ctx context.Context, operation string) {}

// Expired records a recognized expired plan or plan-task response.
func Expired(ctx context.Context, operation string) {}

// Fallback records auto mode choosing local planning before submitting a plan.
func Fallback(ctx context.Context, reason string) {}
