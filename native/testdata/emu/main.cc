// main.cc: CPU emulation tests of the CUDA kernels against double-precision
// references. Prints one line per check and "EMU PASS" or "EMU FAIL".
#include "shim.h"

#include "attention.cu"
#include "embed.cu"
#include "gemm.cu"
#include "rmsnorm.cu"
#include "rope.cu"
#include "sample.cu"
#include "silu.cu"

#include <cstdio>
#include <random>

static int failures = 0;
static std::mt19937_64 rng(12345);

static std::vector<float> randn(size_t n, float scale = 1.f) {
    std::normal_distribution<float> d(0.f, scale);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
}

static void expect(const char* what, double err, double tol) {
    const bool ok = err <= tol && !std::isnan(err);
    std::printf("%-52s max err %.3g (tol %.3g) %s\n", what, err, tol, ok ? "ok" : "FAIL");
    if (!ok) failures++;
}

static double maxrel(const std::vector<float>& got, const std::vector<double>& want) {
    double m = 0;
    for (size_t i = 0; i < want.size(); ++i) {
        const double d = std::fabs(got[i] - want[i]) / (1 + std::fabs(want[i]));
        if (std::isnan(got[i])) return NAN;
        m = std::max(m, d);
    }
    return m;
}

static std::vector<bf16> to_bf16(const std::vector<float>& v) {
    std::vector<bf16> o(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
        unsigned u = __float_as_uint(v[i]);
        u += 0x7fffu + ((u >> 16) & 1u);
        o[i] = (bf16)(u >> 16);
    }
    return o;
}
static std::vector<float> from_bf16(const std::vector<bf16>& v) {
    std::vector<float> o(v.size());
    for (size_t i = 0; i < v.size(); ++i) o[i] = __uint_as_float(((unsigned)v[i]) << 16);
    return o;
}

// Reference attention: q [nq,hq,hd], k/v [nk,hkv,hd].
static std::vector<double> ref_attention(const std::vector<float>& q, const std::vector<float>& k, const std::vector<float>& v,
                                         const std::vector<int>& kvalid, const std::vector<int>& qvalid, int nq, int nk, int hq,
                                         int hkv, int hd) {
    std::vector<double> out((size_t)nq * hq * hd, 0.0);
    const int G = hq / hkv;
    for (int t = 0; t < nq; ++t)
        for (int h = 0; h < hq; ++h) {
            if (!qvalid.empty() && !qvalid[t]) continue;
            const int g = h / G;
            std::vector<double> s(nk, -INFINITY);
            double m = -INFINITY;
            for (int j = 0; j < nk; ++j) {
                if (!kvalid.empty() && !kvalid[j]) continue;
                double acc = 0;
                for (int d = 0; d < hd; ++d) acc += (double)q[((size_t)t * hq + h) * hd + d] * k[((size_t)j * hkv + g) * hd + d];
                s[j] = acc / std::sqrt((double)hd);
                m = std::max(m, s[j]);
            }
            if (m == -INFINITY) continue;
            double sum = 0;
            for (int j = 0; j < nk; ++j) {
                if (s[j] == -INFINITY) continue;
                const double e = std::exp(s[j] - m);
                sum += e;
                for (int d = 0; d < hd; ++d) out[((size_t)t * hq + h) * hd + d] += e * v[((size_t)j * hkv + g) * hd + d];
            }
            for (int d = 0; d < hd; ++d) out[((size_t)t * hq + h) * hd + d] /= sum;
        }
    return out;
}

static void test_attention(int nq, int nk, int hq, int hkv, int hd, int splits, bool masks, bool use_bf16) {
    auto q = randn((size_t)nq * hq * hd), k = randn((size_t)nk * hkv * hd), v = randn((size_t)nk * hkv * hd);
    std::vector<int> kvalid, qvalid;
    if (masks) {
        kvalid.assign(nk, 1);
        qvalid.assign(nq, 1);
        for (int j = 0; j < nk; j += 5) kvalid[j] = 0;
        qvalid[nq / 2] = 0;
    }
    if (use_bf16) {  // round the inputs so the reference sees what the kernel sees
        q = from_bf16(to_bf16(q));
        k = from_bf16(to_bf16(k));
        v = from_bf16(to_bf16(v));
    }
    const int G = hq / hkv, qt = 32 / G;
    const int ntiles = (nk + 31) / 32, per = (ntiles + splits - 1) / splits;
    std::vector<float> out((size_t)nq * hq * hd, NAN), po((size_t)splits * nq * hq * hd, NAN), pml((size_t)splits * nq * hq * 2, NAN);
    std::vector<bf16> qb = to_bf16(q), kb = to_bf16(k), vb = to_bf16(v), ob(out.size(), 0x7fc0);
    const int* kv = masks ? kvalid.data() : nullptr;
    const int* qv = masks ? qvalid.data() : nullptr;
    const float scale = (float)(1.4426950408889634 / std::sqrt((double)hd));
    emu_dim3 grid{(unsigned)((nq + qt - 1) / qt), (unsigned)hkv, (unsigned)splits};
    if (use_bf16)
        emu_launch(grid, 256, [&] { attention_bf16(qb.data(), kb.data(), vb.data(), kv, qv, ob.data(), po.data(), pml.data(), nq, nk, hq, hkv, hd, qt, scale, per); });
    else
        emu_launch(grid, 256, [&] { attention_f32(q.data(), k.data(), v.data(), kv, qv, out.data(), po.data(), pml.data(), nq, nk, hq, hkv, hd, qt, scale, per); });
    if (splits > 1) {
        if (use_bf16)
            emu_launch({(unsigned)(nq * hq)}, 128, [&] { attn_combine_bf16(po.data(), pml.data(), ob.data(), nq, hq, hd, splits); });
        else
            emu_launch({(unsigned)(nq * hq)}, 128, [&] { attn_combine_f32(po.data(), pml.data(), out.data(), nq, hq, hd, splits); });
    }
    if (use_bf16) out = from_bf16(ob);
    char what[128];
    std::snprintf(what, sizeof what, "attention%s nq=%d nk=%d h=%d/%d hd=%d splits=%d%s", use_bf16 ? "_bf16" : "_f32", nq, nk, hq, hkv, hd,
                  splits, masks ? " masked" : "");
    expect(what, maxrel(out, ref_attention(q, k, v, kvalid, qvalid, nq, nk, hq, hkv, hd)), use_bf16 ? 1e-2 : 2e-5);
}

static void test_rmsnorm() {
    const int rows = 5, dim = 300;
    auto r = randn(rows * dim), x = randn(rows * dim), w = randn(dim);
    std::vector<double> want(rows * dim);
    std::vector<float> res = r, out(rows * dim, NAN);
    for (int i = 0; i < rows; ++i) {
        double ss = 0;
        for (int j = 0; j < dim; ++j) {
            double s = (double)(float)(r[i * dim + j] + x[i * dim + j]);
            ss += s * s;
        }
        const double inv = 1 / std::sqrt(ss / dim + 1e-6);
        for (int j = 0; j < dim; ++j) want[i * dim + j] = (double)(float)(r[i * dim + j] + x[i * dim + j]) * inv * w[j];
    }
    emu_launch({(unsigned)rows}, 256, [&] { add_rmsnorm_f32(res.data(), x.data(), w.data(), out.data(), rows, dim, 1e-6f); });
    expect("add_rmsnorm_f32 (residual add + norm)", maxrel(out, want), 2e-5);
    std::vector<double> sum(rows * dim);
    for (int i = 0; i < rows * dim; ++i) sum[i] = (double)(float)(r[i] + x[i]);
    expect("add_rmsnorm_f32 residual written back", maxrel(res, sum), 0);
}

static void test_rope() {
    const int rows = 6, heads = 3, hd = 16, half = hd / 2;
    const int pos[rows] = {0, 1, 2, 7, 1000, 2047};
    auto x = randn(rows * heads * hd);
    std::vector<double> want(x.size());
    for (int t = 0; t < rows; ++t)
        for (int h = 0; h < heads; ++h)
            for (int i = 0; i < half; ++i) {
                const double a = pos[t] * std::pow(1e4, -(double)(2 * i) / hd);
                const size_t b = ((size_t)t * heads + h) * hd;
                want[b + i] = x[b + i] * std::cos(a) - x[b + i + half] * std::sin(a);
                want[b + i + half] = x[b + i + half] * std::cos(a) + x[b + i] * std::sin(a);
            }
    auto y = x;
    emu_launch({(unsigned)rows}, 128, [&] { rope_inplace_f32(y.data(), pos, rows, heads, hd, 1e4f); });
    expect("rope_inplace_f32 (positions up to 2047)", maxrel(y, want), 2e-5);

    // bias + rope + K/V write into cache slots: q heads == x heads here.
    const int hq = 2, hkv = 1, width = (hq + 2 * hkv) * hd;
    auto qkv = randn(rows * width), bias = randn(width);
    std::vector<float> qo(rows * hq * hd, NAN), kc(10 * hkv * hd, 0), vc(10 * hkv * hd, 0);
    const int slots[rows] = {9, 3, 4, 0, 8, 1};
    emu_launch({(unsigned)rows}, 128, [&] {
        bias_rope_kv_f32(qkv.data(), bias.data(), pos, slots, qo.data(), kc.data(), vc.data(), rows, hq, hkv, hd, 1e4f, 0);
    });
    double err = 0;
    for (int t = 0; t < rows; ++t)
        for (int h = 0; h < hq + 2 * hkv; ++h)
            for (int i = 0; i < hd; ++i) {
                const size_t src = (size_t)t * width + h * hd;
                double want_v;
                if (h < hq + hkv) {
                    const int j = i % half;
                    const double a = pos[t] * std::pow(1e4, -(double)(2 * j) / hd);
                    const double x1 = (double)(float)(qkv[src + j] + bias[h * hd + j]);
                    const double x2 = (double)(float)(qkv[src + j + half] + bias[h * hd + j + half]);
                    want_v = i < half ? x1 * std::cos(a) - x2 * std::sin(a) : x2 * std::cos(a) + x1 * std::sin(a);
                } else {
                    want_v = (double)(float)(qkv[src + i] + bias[h * hd + i]);
                }
                float got = h < hq ? qo[((size_t)t * hq + h) * hd + i]
                                   : (h < hq + hkv ? kc[(size_t)slots[t] * hkv * hd + (h - hq) * hd + i]
                                                   : vc[(size_t)slots[t] * hkv * hd + (h - hq - hkv) * hd + i]);
                err = std::max(err, std::fabs(got - want_v) / (1 + std::fabs(want_v)));
            }
    expect("bias_rope_kv_f32 (q out, k/v into cache slots)", err, 2e-5);

    // q_layout 1: q grouped by K/V head, [hkv, rows, G, hd].
    std::vector<float> qg(rows * hq * hd, NAN);
    emu_launch({(unsigned)rows}, 128, [&] {
        bias_rope_kv_f32(qkv.data(), bias.data(), pos, slots, qg.data(), kc.data(), vc.data(), rows, hq, hkv, hd, 1e4f, 1);
    });
    const int G = hq / hkv;
    double e2 = 0;
    for (int t = 0; t < rows; ++t)
        for (int h = 0; h < hq; ++h)
            for (int i = 0; i < hd; ++i)
                e2 = std::max(e2, (double)std::fabs(qg[(((size_t)(h / G) * rows + t) * G + h % G) * hd + i] - qo[((size_t)t * hq + h) * hd + i]));
    expect("bias_rope_kv_f32 q_layout 1 (grouped) = layout 0 permuted", e2, 0);

    // A token's work spread over a grid's y dimension (one pair a thread
    // and more) gives the same values.
    for (unsigned gy : {2u, 3u, 7u}) {
        std::vector<float> qy(rows * hq * hd, NAN), ky(10 * hkv * hd, 0), vy(10 * hkv * hd, 0);
        emu_launch({(unsigned)rows, gy}, 128, [&] {
            bias_rope_kv_f32(qkv.data(), bias.data(), pos, slots, qy.data(), ky.data(), vy.data(), rows, hq, hkv, hd, 1e4f, 0);
        });
        double ey = 0;
        for (size_t i = 0; i < qy.size(); ++i) ey = std::max(ey, (double)std::fabs(qy[i] - qo[i]));
        for (size_t i = 0; i < ky.size(); ++i) ey = std::max(ey, (double)std::fabs(ky[i] - kc[i]) + std::fabs(vy[i] - vc[i]));
        const std::string what = "bias_rope_kv_f32, grid y = " + std::to_string(gy) + ": one block a token's";
        expect(what.c_str(), ey, 0);
    }
}

// The GEMM attention path: grouped q, S = Q_g K_g^T and O = P_g V_g done
// here as loops (cuBLASLt's job on the GPU), softmax and reorder kernels.
static void test_gemm_attention(int nq, int nk, int hq, int hkv, int hd, bool masks) {
    const int G = hq / hkv;
    auto q = randn((size_t)nq * hq * hd), k = randn((size_t)nk * hkv * hd), v = randn((size_t)nk * hkv * hd);
    std::vector<int> kvalid, qvalid;
    if (masks) {
        kvalid.assign(nk, 1);
        qvalid.assign(nq, 1);
        for (int j = 1; j < nk; j += 3) kvalid[j] = 0;
        qvalid[0] = 0;
    }
    std::vector<float> qg((size_t)hkv * nq * G * hd);
    for (int t = 0; t < nq; ++t)
        for (int h = 0; h < hq; ++h)
            for (int d = 0; d < hd; ++d) qg[(((size_t)(h / G) * nq + t) * G + h % G) * hd + d] = q[((size_t)t * hq + h) * hd + d];
    const int rowsS = hkv * nq * G;
    std::vector<float> S((size_t)rowsS * nk), P((size_t)rowsS * nk, NAN), og((size_t)rowsS * hd, 0), out((size_t)nq * hq * hd, NAN);
    for (int g = 0; g < hkv; ++g)
        for (int r = 0; r < nq * G; ++r)
            for (int j = 0; j < nk; ++j) {
                double s = 0;
                for (int d = 0; d < hd; ++d) s += (double)qg[((size_t)g * nq * G + r) * hd + d] * k[((size_t)j * hkv + g) * hd + d];
                S[((size_t)g * nq * G + r) * nk + j] = (float)s;
            }
    const float scale = (float)(1 / std::sqrt((double)hd));
    emu_launch({(unsigned)rowsS}, 256, [&] {
        attn_softmax_f32(S.data(), P.data(), masks ? kvalid.data() : nullptr, masks ? qvalid.data() : nullptr, nq, G, nk, rowsS, scale);
    });
    for (int g = 0; g < hkv; ++g)
        for (int r = 0; r < nq * G; ++r)
            for (int d = 0; d < hd; ++d) {
                double s = 0;
                for (int j = 0; j < nk; ++j) s += (double)P[((size_t)g * nq * G + r) * nk + j] * v[((size_t)j * hkv + g) * hd + d];
                og[((size_t)g * nq * G + r) * hd + d] = (float)s;
            }
    emu_launch({3}, 256, [&] { attn_out_reorder_f32(og.data(), out.data(), nq, hkv, G, hd); });
    char what[128];
    std::snprintf(what, sizeof what, "gemm attention (softmax, reorder) nq=%d nk=%d h=%d/%d hd=%d%s", nq, nk, hq, hkv, hd, masks ? " masked" : "");
    expect(what, maxrel(out, ref_attention(q, k, v, kvalid, qvalid, nq, nk, hq, hkv, hd)), 2e-5);
}

static void test_elementwise() {
    const int rows = 3, f = 700;
    auto gu = randn(rows * 2 * f, 3.f);
    gu[0] = 80, gu[1] = -80;
    std::vector<float> out(rows * f, NAN);
    emu_launch({4}, 256, [&] { silu_mul_f32(out.data(), gu.data(), gu.data() + f, rows, f, 2 * f); });
    std::vector<double> want(rows * f);
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < f; ++c) {
            const double g = gu[r * 2 * f + c], u = gu[r * 2 * f + f + c];
            want[r * f + c] = g / (1 + std::exp(-g)) * u;
        }
    expect("silu_mul_f32 (fused gate/up layout)", maxrel(out, want), 2e-5);

    auto a = randn(1000), b = randn(1000);
    std::vector<float> s(1000, NAN);
    emu_launch({2}, 256, [&] { add_f32(s.data(), a.data(), b.data(), 1000); });
    std::vector<double> ws(1000);
    for (int i = 0; i < 1000; ++i) ws[i] = (double)a[i] + b[i];
    expect("add_f32", maxrel(s, ws), 1e-7);

    const int vocab = 50, dim = 33;
    auto table = randn(vocab * dim);
    const int ids[4] = {3, 0, 49, 77};  // 77 is out of range: zero row
    std::vector<float> e(4 * dim, NAN);
    emu_launch({4}, 256, [&] { embed_gather_f32(e.data(), table.data(), ids, 4, dim, vocab); });
    std::vector<double> we(4 * dim, 0);
    for (int i = 0; i < 3; ++i)
        for (int c = 0; c < dim; ++c) we[i * dim + c] = table[ids[i] * dim + c];
    expect("embed_gather_f32 (out-of-range id gives zeros)", maxrel(e, we), 0);

    const int rows_idx[3] = {0, 5, 1};
    std::vector<float> gr(3 * dim, NAN);
    emu_launch({3}, 256, [&] { gather_rows_f32(gr.data(), table.data(), rows_idx, 3, dim, vocab, 1); });
    std::vector<double> wg(3 * dim);
    const int src[3] = {0, 4, 0};
    for (int i = 0; i < 3; ++i)
        for (int c = 0; c < dim; ++c) wg[i * dim + c] = table[src[i] * dim + c];
    expect("gather_rows_f32 shift (p -> p-1, 0 -> 0)", maxrel(gr, wg), 0);
}

static void test_sample() {
    const int rows = 3, vocab = 5000;
    auto lg = randn(rows * vocab, 2.f);
    lg[1 * vocab + 17] = 9.f;  // row 1: a clear winner
    lg[2 * vocab + 5] = 7.f, lg[2 * vocab + 6] = 7.f;  // row 2: a tie, the smaller index wins
    std::vector<int> tok(rows, -1);
    std::vector<float> st(4 * rows, NAN);
    unsigned long long ss[2] = {42, 3};
    emu_launch({(unsigned)rows}, 512, [&] { sample_rows(lg.data(), rows, vocab, 0.f, ss, tok.data(), st.data()); });
    double err = 0;
    for (int r = 0; r < rows; ++r) {
        const float* z = &lg[r * vocab];
        int arg = (int)(std::max_element(z, z + vocab) - z);
        if (tok[r] != arg) {
            std::printf("sample_rows greedy row %d: token %d, want %d\n", r, tok[r], arg);
            failures++;
        }
        double m = z[arg], s = 0, e = 0, second = -INFINITY;
        for (int i = 0; i < vocab; ++i) {
            s += std::exp(z[i] - m);
            e += std::exp(z[i] - m) * (z[i] - m);
            if (i != arg) second = std::max(second, (double)z[i]);
        }
        const double want[4] = {1 / s, 1 / s, std::exp(second - m) / s, e / s - std::log(s)};
        for (int j = 0; j < 4; ++j) err = std::max(err, std::fabs(st[4 * r + j] - want[j]) / (1 + std::fabs(want[j])));
    }
    expect("sample_rows greedy: token, p, top2, sum p log p", err, 1e-5);

    // Gumbel sampling: token frequencies follow the softmax (a 3-token row
    // drawn 1000 times, one step each; one warp is enough for 3 tokens).
    const int V3 = 3;
    float l3[V3] = {0.f, 1.f, 2.f};
    int counts[V3] = {0, 0, 0};
    for (unsigned long long step = 0; step < 1000; ++step) {
        unsigned long long s2[2] = {7, step};
        int t = -1;
        float st3[4];
        emu_launch({1}, 32, [&] { sample_rows(l3, 1, V3, 1.f, s2, &t, st3); });
        if (t < 0 || t >= V3) {
            failures++;
            break;
        }
        counts[t]++;
    }
    const double z = 1 + std::exp(1.0) + std::exp(2.0);
    double worst = 0;
    for (int i = 0; i < V3; ++i) worst = std::max(worst, std::fabs(counts[i] / 1000.0 - std::exp((double)i) / z));
    expect("sample_rows Gumbel frequencies vs softmax (1000 draws)", worst, 0.05);
}

static void test_bf16_rounding() {
    struct {
        unsigned in;
        unsigned short want;
    } cases[] = {
        {0x3f800000u, 0x3f80}, {0x3f808000u, 0x3f80},  // halfway: to even
        {0x3f818000u, 0x3f82}, {0x3f80ffffu, 0x3f81},  // halfway up to even; above halfway
        {0x7f800000u, 0x7f80}, {0xff800000u, 0xff80},  // infinities
        {0x7fc00001u, 0x7fc0}, {0x7f800001u, 0x7fc0},  // NaNs stay NaN
        {0x7f7fffffu, 0x7f80},                         // max float rounds to inf, as PyTorch does
    };
    int bad = 0;
    for (auto& c : cases) {
        const bf16 got = from_f32<bf16>(__uint_as_float(c.in));
        if (got != c.want) {
            std::printf("from_f32<bf16>(%08x) = %04x, want %04x\n", c.in, got, c.want);
            bad++;
        }
    }
    expect("from_f32<bf16> round-to-nearest-even, NaN, inf", bad, 0);
}

static void test_skinny_gemm(int M, int N, int K) {
    auto xf = randn((size_t)M * K), wf = randn((size_t)N * K);
    auto xb = to_bf16(xf), wb = to_bf16(wf);
    xf = from_bf16(xb), wf = from_bf16(wb);
    std::vector<bf16> y((size_t)M * N, 0x7fc0);
    emu_launch({(unsigned)((N + 31) / 32)}, 128, [&] { gemm_skinny_bf16(y.data(), xb.data(), wb.data(), M, N, K); });
    std::vector<double> want((size_t)M * N);
    for (int i = 0; i < M; ++i)
        for (int j = 0; j < N; ++j) {
            double s = 0;
            for (int k = 0; k < K; ++k) s += (double)xf[(size_t)i * K + k] * wf[(size_t)j * K + k];
            want[(size_t)i * N + j] = s;
        }
    // Output rounded to bf16: relative 2^-8 of the value, plus fp32 sums.
    double err = 0;
    auto got = from_bf16(y);
    for (size_t i = 0; i < want.size(); ++i) err = std::max(err, std::fabs(got[i] - want[i]) / (1 + std::fabs(want[i])));
    char what[96];
    std::snprintf(what, sizeof what, "gemm_skinny_bf16 M=%d N=%d K=%d (mma emulated)", M, N, K);
    expect(what, err, 8e-3);
}

static void test_gemm_f32_simple(int M, int N, int K, bool bias) {
    auto x = randn((size_t)M * K), w = randn((size_t)N * K), b = randn(N);
    std::vector<float> y((size_t)M * N, NAN);
    emu_launch({(unsigned)((N + 15) / 16), (unsigned)((M + 15) / 16)}, 256,
               [&] { gemm_f32_simple(y.data(), x.data(), w.data(), bias ? b.data() : nullptr, M, N, K); });
    std::vector<double> want((size_t)M * N);
    for (int i = 0; i < M; ++i)
        for (int j = 0; j < N; ++j) {
            double s = bias ? b[j] : 0;
            for (int k = 0; k < K; ++k) s += (double)x[(size_t)i * K + k] * w[(size_t)j * K + k];
            want[(size_t)i * N + j] = s;
        }
    char what[96];
    std::snprintf(what, sizeof what, "gemm_f32_simple M=%d N=%d K=%d%s", M, N, K, bias ? " bias" : "");
    expect(what, maxrel(y, want), 2e-5 * std::sqrt((double)K + 1));
}

int main() {
    setvbuf(stdout, nullptr, _IONBF, 0);
    test_bf16_rounding();
    test_elementwise();
    test_rmsnorm();
    test_rope();
    test_attention(1, 1, 2, 1, 8, 1, false, false);
    test_attention(37, 37, 4, 2, 16, 1, false, false);
    test_attention(37, 37, 4, 2, 16, 2, true, false);
    test_attention(20, 20, 3, 3, 32, 1, false, false);
    test_attention(9, 70, 7, 1, 128, 3, false, false);   // Dream's 7:1 grouping, head dim 128, a cached-step shape
    test_attention(9, 70, 7, 1, 128, 1, true, true);
    test_attention(3, 3, 2, 2, 4, 1, true, false);
    test_gemm_attention(9, 70, 7, 1, 16, false);
    test_gemm_attention(13, 40, 4, 2, 8, true);
    test_sample();
    test_gemm_f32_simple(5, 7, 9, false);
    test_gemm_f32_simple(17, 33, 65, true);
    test_gemm_f32_simple(3, 4, 0, true);
    test_skinny_gemm(1, 32, 16);
    test_skinny_gemm(17, 72, 96);
    test_skinny_gemm(64, 64, 160);
    std::printf(failures ? "EMU FAIL (%d)\n" : "EMU PASS\n", failures);
    return failures ? 1 : 0;
}
