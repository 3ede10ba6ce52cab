/* The Office agile key derivation loop, h = SHA-512(LE32(i) || h) for i in 0..n-1, in C.
 *
 * Python spends most of a passphrase trial on this loop (100,000 rounds for
 * files made by Office); in C one trial takes a fraction of the time, which is
 * what lets the engine try more passphrases inside its per-message budget.
 * Self-contained SHA-512 (FIPS 180-4) so the build needs no OpenSSL headers.
 * The GIL is released: worker threads and the SMTP loop are not held up.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

static const uint64_t K[80] = {
0x428a2f98d728ae22ULL,0x7137449123ef65cdULL,0xb5c0fbcfec4d3b2fULL,0xe9b5dba58189dbbcULL,0x3956c25bf348b538ULL,
0x59f111f1b605d019ULL,0x923f82a4af194f9bULL,0xab1c5ed5da6d8118ULL,0xd807aa98a3030242ULL,0x12835b0145706fbeULL,
0x243185be4ee4b28cULL,0x550c7dc3d5ffb4e2ULL,0x72be5d74f27b896fULL,0x80deb1fe3b1696b1ULL,0x9bdc06a725c71235ULL,
0xc19bf174cf692694ULL,0xe49b69c19ef14ad2ULL,0xefbe4786384f25e3ULL,0x0fc19dc68b8cd5b5ULL,0x240ca1cc77ac9c65ULL,
0x2de92c6f592b0275ULL,0x4a7484aa6ea6e483ULL,0x5cb0a9dcbd41fbd4ULL,0x76f988da831153b5ULL,0x983e5152ee66dfabULL,
0xa831c66d2db43210ULL,0xb00327c898fb213fULL,0xbf597fc7beef0ee4ULL,0xc6e00bf33da88fc2ULL,0xd5a79147930aa725ULL,
0x06ca6351e003826fULL,0x142929670a0e6e70ULL,0x27b70a8546d22ffcULL,0x2e1b21385c26c926ULL,0x4d2c6dfc5ac42aedULL,
0x53380d139d95b3dfULL,0x650a73548baf63deULL,0x766a0abb3c77b2a8ULL,0x81c2c92e47edaee6ULL,0x92722c851482353bULL,
0xa2bfe8a14cf10364ULL,0xa81a664bbc423001ULL,0xc24b8b70d0f89791ULL,0xc76c51a30654be30ULL,0xd192e819d6ef5218ULL,
0xd69906245565a910ULL,0xf40e35855771202aULL,0x106aa07032bbd1b8ULL,0x19a4c116b8d2d0c8ULL,0x1e376c085141ab53ULL,
0x2748774cdf8eeb99ULL,0x34b0bcb5e19b48a8ULL,0x391c0cb3c5c95a63ULL,0x4ed8aa4ae3418acbULL,0x5b9cca4f7763e373ULL,
0x682e6ff3d6b2b8a3ULL,0x748f82ee5defb2fcULL,0x78a5636f43172f60ULL,0x84c87814a1f0ab72ULL,0x8cc702081a6439ecULL,
0x90befffa23631e28ULL,0xa4506cebde82bde9ULL,0xbef9a3f7b2c67915ULL,0xc67178f2e372532bULL,0xca273eceea26619cULL,
0xd186b8c721c0c207ULL,0xeada7dd6cde0eb1eULL,0xf57d4f7fee6ed178ULL,0x06f067aa72176fbaULL,0x0a637dc5a2c898a6ULL,
0x113f9804bef90daeULL,0x1b710b35131c471bULL,0x28db77f523047d84ULL,0x32caab7b40c72493ULL,0x3c9ebe0a15c9bebcULL,
0x431d67c49c100d4cULL,0x4cc5d4becb3e42b6ULL,0x597f299cfc657e2aULL,0x5fcb6fab3ad6faecULL,0x6c44198c4a475817ULL};

static const uint64_t H0[8] = {
0x6a09e667f3bcc908ULL,0xbb67ae8584caa73bULL,0x3c6ef372fe94f82bULL,0xa54ff53a5f1d36f1ULL,
0x510e527fade682d1ULL,0x9b05688c2b3e6c1fULL,0x1f83d9abfb41bd6bULL,0x5be0cd19137e2179ULL};

#define ROR(x, n) (((x) >> (n)) | ((x) << (64 - (n))))

static void compress(uint64_t st[8], const uint64_t w_in[16]) {
    uint64_t w[80], a, b, c, d, e, f, g, h, t1, t2;
    int i;
    for (i = 0; i < 16; i++) w[i] = w_in[i];
    for (i = 16; i < 80; i++) {
        uint64_t s0 = ROR(w[i-15], 1) ^ ROR(w[i-15], 8) ^ (w[i-15] >> 7);
        uint64_t s1 = ROR(w[i-2], 19) ^ ROR(w[i-2], 61) ^ (w[i-2] >> 6);
        w[i] = w[i-16] + s0 + w[i-7] + s1;
    }
    a = st[0]; b = st[1]; c = st[2]; d = st[3]; e = st[4]; f = st[5]; g = st[6]; h = st[7];
    for (i = 0; i < 80; i++) {
        t1 = h + (ROR(e, 14) ^ ROR(e, 18) ^ ROR(e, 41)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        t2 = (ROR(a, 28) ^ ROR(a, 34) ^ ROR(a, 39)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    st[0] += a; st[1] += b; st[2] += c; st[3] += d; st[4] += e; st[5] += f; st[6] += g; st[7] += h;
}

/* One round: the message is 4 + 64 = 68 bytes, so one padded block. */
static void round512(uint64_t hash[8], uint32_t i) {
    uint64_t w[16];
    uint64_t st[8];
    int k;
    w[0] = ((uint64_t)(i & 0xff) << 56) | ((uint64_t)((i >> 8) & 0xff) << 48) |
           ((uint64_t)((i >> 16) & 0xff) << 40) | ((uint64_t)((i >> 24) & 0xff) << 32) | (hash[0] >> 32);
    for (k = 1; k < 8; k++) w[k] = (hash[k-1] << 32) | (hash[k] >> 32);
    w[8] = (hash[7] << 32) | 0x80000000ULL;
    for (k = 9; k < 15; k++) w[k] = 0;
    w[15] = 68 * 8;
    memcpy(st, H0, sizeof st);
    compress(st, w);
    memcpy(hash, st, sizeof st);
}

static PyObject *sha512_spin(PyObject *self, PyObject *args) {
    Py_buffer seed;
    unsigned long count;
    uint64_t hash[8];
    unsigned char out[64];
    uint32_t i;
    int k, j;
    if (!PyArg_ParseTuple(args, "y*k", &seed, &count)) return NULL;
    if (seed.len != 64) {
        PyBuffer_Release(&seed);
        PyErr_SetString(PyExc_ValueError, "the seed must be a 64-byte SHA-512 digest");
        return NULL;
    }
    for (k = 0; k < 8; k++) {
        const unsigned char *p = (const unsigned char *)seed.buf + 8 * k;
        hash[k] = 0;
        for (j = 0; j < 8; j++) hash[k] = (hash[k] << 8) | p[j];
    }
    PyBuffer_Release(&seed);
    Py_BEGIN_ALLOW_THREADS
    for (i = 0; i < count; i++) round512(hash, i);
    Py_END_ALLOW_THREADS
    for (k = 0; k < 8; k++)
        for (j = 0; j < 8; j++) out[8 * k + j] = (unsigned char)(hash[k] >> (56 - 8 * j));
    return PyBytes_FromStringAndSize((const char *)out, 64);
}

static PyMethodDef methods[] = {
    {"sha512_spin", sha512_spin, METH_VARARGS, "sha512_spin(seed64, count) -> the digest after count rounds"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_spin", NULL, -1, methods};

PyMODINIT_FUNC PyInit__spin(void) { return PyModule_Create(&module); }
