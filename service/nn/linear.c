/* SPDX-License-Identifier: Apache-2.0 */
/* linear.c - fully connected layer with optional bias, (N, C_in) ->
 * (N, C_out), as one GEMM. */
#include "nn/nn.h"
#include "nn/nn_internal.h"

#include <cblas.h>

void nn_linear_forward(float *out, const float *x, const float *w,
		       const float *b, int n, int cin, int cout)
{
	float beta = 0.0f;

	if (b) {
		for (int i = 0; i < n; i++)
			for (int o = 0; o < cout; o++)
				out[(size_t)i * cout + o] = b[o];
		beta = 1.0f;
	}
	/* out (N, C_out) = x (N, C_in) x w^T (C_in, C_out) [+ out] */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, cout, cin, 1.0f,
		    x, cin, w, cin, beta, out, cout);
}

void nn_linear_backward(float *dinp, float *dw, float *db, const float *dout,
			const float *x, const float *w, int n, int cin,
			int cout)
{
	/* dw (C_out, C_in) += dout^T (C_out, N) x x (N, C_in) */
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, cout, cin, n, 1.0f,
		    dout, cout, x, cin, 1.0f, dw, cin);
	if (db)
		for (int i = 0; i < n; i++)
			for (int o = 0; o < cout; o++)
				db[o] += dout[(size_t)i * cout + o];
	/* dinp (N, C_in) += dout (N, C_out) x w (C_out, C_in) */
	if (dinp)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, cin,
			    cout, 1.0f, dout, cout, w, cin, 1.0f, dinp, cin);
}
