/* labkit.filters._cgrams: the SVM's hashed character 4-grams, and its margin, in C.
 *
 * The Python in labkit/filters/grams.py is the reference: read it first.  This module
 * computes the same things without NumPy's per-call overhead, which dominates on
 * arrays of a few thousand elements:
 *
 *   columns(head, n_bits) -> bytes
 *       the sorted, distinct columns (native int32) of the message head's 4-grams,
 *       exactly grams._py_gram_columns(head, head=len(head), n_bits=n_bits);
 *   margin(head, n_bits, coef, intercept) -> float
 *       the SVM margin of that one row: what gram_matrix([head]) @ coef + intercept
 *       gives, to the last bit.
 *
 * The features (those of scikit-learn's HashingVectorizer, char 4-grams, binary, l2):
 * the head is read as Latin-1; every run of two or more white-space characters (what
 * Python's \s matches on Latin-1 text) becomes one space; each window of 4 characters
 * is encoded as UTF-8 (a character >= 0x80 is two bytes), hashed with 32-bit
 * MurmurHash3 (x86 variant, seed 0, read as a signed int), and sent to column
 * |hash| mod 2**n_bits.
 *
 * Only the CPython C API is used; it builds on Python 3.10 to 3.13.  The public
 * argument checks are the Python wrapper's: here a wrong type is a TypeError and a
 * value outside what the wrapper ever passes is a ValueError.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

/* ---- white space -------------------------------------------------------------------
 * Python's \s on a str matches str.isspace() characters; among the 256 Latin-1 code
 * points those are \t \n \v \f \r, the separators \x1c-\x1f, space, NEL (\x85) and
 * no-break space (\xa0).  One flag per byte value. */
static unsigned char white[256];

static void
fill_white(void)
{
    static const unsigned char chars[] = {
        0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0};
    size_t i;
    for (i = 0; i < sizeof chars; i++)
        white[chars[i]] = 1;
}

/* Copy head into out with every run of 2+ white-space bytes replaced by one space
 * (a single white-space byte is kept as it is, as re.sub(r"\s\s+", " ") does);
 * returns the folded length (never more than n). */
static Py_ssize_t
fold_white(const unsigned char *head, Py_ssize_t n, unsigned char *out)
{
    Py_ssize_t i = 0, m = 0;
    while (i < n) {
        if (white[head[i]] && i + 1 < n && white[head[i + 1]]) {
            i += 2;
            while (i < n && white[head[i]])
                i++;
            out[m++] = ' ';
        }
        else {
            out[m++] = head[i++];
        }
    }
    return m;
}

/* ---- MurmurHash3, x86, 32 bits -------------------------------------------------------
 * The key is read in 4-byte blocks, each scrambled and mixed into the state; the last
 * 1-3 bytes are scrambled the same way and xored in; the length is xored in and the
 * state goes through a final avalanche.  Blocks are read as native 32-bit words, as
 * scikit-learn's murmurhash3_32 does (the same as little-endian on every machine
 * labkit runs on). */
#define MUR_C1 0xcc9e2d51u
#define MUR_C2 0x1b873593u

static inline uint32_t
rotl32(uint32_t x, int r)
{
    return (x << r) | (x >> (32 - r));
}

/* the per-block scramble: multiply, rotate 15, multiply */
static inline uint32_t
scramble(uint32_t k)
{
    k *= MUR_C1;
    k = rotl32(k, 15);
    return k * MUR_C2;
}

/* the final avalanche, after the length is xored in */
static inline uint32_t
avalanche(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

/* the hash (seed 0) of len bytes at key */
static uint32_t
murmur3_32(const unsigned char *key, size_t len)
{
    uint32_t h = 0, k;
    size_t i, blocks = len / 4;
    for (i = 0; i < blocks; i++) {
        memcpy(&k, key + 4 * i, 4);
        h ^= scramble(k);
        h = rotl32(h, 13);
        h = h * 5 + 0xe6546b64u;
    }
    k = 0;
    switch (len & 3) {  /* the tail, little-endian whatever the machine */
    case 3:
        k ^= (uint32_t)key[4 * blocks + 2] << 16;
        /* fall through */
    case 2:
        k ^= (uint32_t)key[4 * blocks + 1] << 8;
        /* fall through */
    case 1:
        k ^= key[4 * blocks];
        h ^= scramble(k);
    }
    return avalanche(h ^ (uint32_t)len);
}

/* The column of a 4-character gram starting at text (Latin-1 bytes).  Plain ASCII is
 * its own UTF-8 and is hashed in place; a gram with a byte >= 0x80 is first encoded
 * (two bytes for each such character: 110000xx 10xxxxxx). */
static uint32_t
gram_column(const unsigned char *text, int64_t size)
{
    unsigned char utf8[8];
    size_t len = 0;
    int j;
    int32_t h;
    if (!((text[0] | text[1] | text[2] | text[3]) & 0x80)) {
        h = (int32_t)murmur3_32(text, 4);
    }
    else {
        for (j = 0; j < 4; j++) {
            unsigned char c = text[j];
            if (c < 0x80) {
                utf8[len++] = c;
            }
            else {
                utf8[len++] = (unsigned char)(0xc0 | (c >> 6));
                utf8[len++] = (unsigned char)(0x80 | (c & 0x3f));
            }
        }
        h = (int32_t)murmur3_32(utf8, len);
    }
    /* scikit-learn's column: |h| mod size, except that -2**31 (no int32 absolute
     * value) goes to (2**31 - 1 - (size - 1)) mod size.  size is a power of two, so
     * "mod size" of a number >= 0 is "and size - 1" (a division costs ~40 cycles) */
    if (h == INT32_MIN)
        return (uint32_t)(((int64_t)INT32_MAX - (size - 1)) & (size - 1));
    return (uint32_t)((h < 0 ? -(int64_t)h : (int64_t)h) & (size - 1));
}

/* ---- columns -------------------------------------------------------------------------
 * The columns are sorted by a least-significant-digit radix sort: no comparisons, a
 * cost linear in the number of grams whatever they are, and a few microseconds for a
 * 3,000-byte head, where qsort's comparison callbacks cost several times more.  A
 * column of n_bits bits is sorted in passes of at most DIGIT_BITS bits, the bits shared
 * out evenly (2**20 columns: two passes of 10 bits; 2**31: three of 11). */
#define DIGIT_BITS 11
#define MAX_PASSES 3  /* enough for n_bits up to 33 */

/* Work space for a head of n bytes: the per-pass digit counts, two arrays of n columns
 * (the sort moves between them) and the folded text.  NULL with MemoryError set. */
static void *
new_workspace(Py_ssize_t n)
{
    const size_t counts = MAX_PASSES * ((size_t)1 << DIGIT_BITS) * sizeof(Py_ssize_t);
    if (n > (Py_ssize_t)((PY_SSIZE_T_MAX - counts) / 9))
        return PyErr_NoMemory();
    void *work = PyMem_Malloc(counts + (size_t)n * 9);
    if (work == NULL)
        return PyErr_NoMemory();
    return work;
}

/* The sorted, distinct columns of head's grams: returns their count and points *cols
 * into work (from new_workspace(n)). */
static Py_ssize_t
sorted_columns(const unsigned char *head, Py_ssize_t n, int n_bits, void *work,
               uint32_t **cols)
{
    Py_ssize_t *count = (Py_ssize_t *)work;
    uint32_t *a = (uint32_t *)(count + MAX_PASSES * ((size_t)1 << DIGIT_BITS));
    uint32_t *b = a + n, *t;
    unsigned char *text = (unsigned char *)(b + n);
    int64_t size = (int64_t)1 << n_bits;
    int passes = (n_bits + DIGIT_BITS - 1) / DIGIT_BITS;
    int digit = passes ? (n_bits + passes - 1) / passes : 0;
    Py_ssize_t buckets = (Py_ssize_t)1 << digit, m, g, i, k, sum;
    uint32_t mask = (uint32_t)buckets - 1;
    int p;

    *cols = a;
    m = fold_white(head, n, text);
    if (m < 4)
        return 0;
    g = m - 3;  /* one gram starts at each of the first m - 3 characters */
    for (i = 0; i < g; i++)
        a[i] = gram_column(text + i, size);

    /* every pass's digit counts in one read of the columns */
    memset(count, 0, (size_t)(passes * buckets) * sizeof(Py_ssize_t));
    for (i = 0; i < g; i++)
        for (p = 0; p < passes; p++)
            count[p * buckets + ((a[i] >> (p * digit)) & mask)]++;
    for (p = 0; p < passes; p++) {
        Py_ssize_t *start = count + p * buckets;
        sum = 0;
        for (i = 0; i < buckets; i++) {  /* counts -> where each digit's run begins */
            Py_ssize_t c = start[i];
            start[i] = sum;
            sum += c;
        }
        for (i = 0; i < g; i++)  /* stable: the earlier passes' order holds within a digit */
            b[start[(a[i] >> (p * digit)) & mask]++] = a[i];
        t = a;
        a = b;
        b = t;
    }

    /* drop repeats: equal columns are neighbours now.  Without a branch (write, then
     * keep it only if new): about half the grams repeat, in no order a CPU can guess */
    k = 1;
    for (i = 1; i < g; i++) {
        uint32_t v = a[i];
        a[k] = v;
        k += v != a[k - 1];
    }
    *cols = a;
    return k;
}

/* Check the (head, n_bits) pair every function takes; 0 or -1 with TypeError/ValueError. */
static int
head_and_bits(PyObject *const *args, const char *fn, int *n_bits)
{
    long bits;
    if (!PyBytes_CheckExact(args[0])) {
        PyErr_Format(PyExc_TypeError, "%s: head must be bytes, not %.100s", fn,
                     Py_TYPE(args[0])->tp_name);
        return -1;
    }
    if (!PyLong_CheckExact(args[1])) {
        PyErr_Format(PyExc_TypeError, "%s: n_bits must be an int, not %.100s", fn,
                     Py_TYPE(args[1])->tp_name);
        return -1;
    }
    bits = PyLong_AsLong(args[1]);
    if (bits == -1 && PyErr_Occurred())
        PyErr_Clear();  /* too large for a long: refused just below */
    else if (bits >= 0 && bits <= 31) {
        *n_bits = (int)bits;
        return 0;
    }
    PyErr_Format(PyExc_ValueError, "%s: n_bits must be from 0 to 31", fn);
    return -1;
}

PyDoc_STRVAR(columns_doc,
"columns(head: bytes, n_bits: int) -> bytes\n\n"
"The sorted, distinct columns (native int32, for numpy.frombuffer) of the hashed\n"
"character 4-grams of head, as labkit.filters.grams._py_gram_columns gives them.");

static PyObject *
columns(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    int n_bits;
    Py_ssize_t n, k;
    void *work;
    uint32_t *cols;
    PyObject *out;

    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "columns() takes 2 arguments (%zd given)", nargs);
        return NULL;
    }
    if (head_and_bits(args, "columns()", &n_bits) < 0)
        return NULL;
    n = PyBytes_GET_SIZE(args[0]);
    if (n < 4)  /* no gram, whatever the bytes */
        return PyBytes_FromStringAndSize(NULL, 0);
    work = new_workspace(n);
    if (work == NULL)
        return NULL;
    k = sorted_columns((const unsigned char *)PyBytes_AS_STRING(args[0]), n, n_bits, work,
                       &cols);
    /* the columns are below 2**31, so a uint32 has the bits of the same int32 */
    out = PyBytes_FromStringAndSize((const char *)cols, k * (Py_ssize_t)sizeof(uint32_t));
    PyMem_Free(work);
    return out;  /* NULL with MemoryError set if the bytes could not be made */
}

/* ---- margin --------------------------------------------------------------------------
 * True when a buffer's struct format is one native-order C double: "d", "@d", "=d",
 * or "<d" / ">d" / "!d" on a machine of that byte order. */
static int
native_double(const char *format)
{
    const uint16_t one = 1;
    int little = *(const unsigned char *)&one == 1;
    if (format == NULL)  /* no format given: plain unsigned bytes */
        return 0;
    if (format[0] == '@' || format[0] == '=' || (format[0] == '<' && little)
        || ((format[0] == '>' || format[0] == '!') && !little))
        format++;
    return format[0] == 'd' && format[1] == '\0';
}

PyDoc_STRVAR(margin_doc,
"margin(head: bytes, n_bits: int, coef, intercept: float) -> float\n\n"
"The linear SVM margin of head's gram row: the sum, in sorted column order, of\n"
"(1/sqrt(k)) * coef[column] over its k distinct columns, plus intercept. coef: a\n"
"C-contiguous buffer of 2**n_bits native doubles (a float64 NumPy array). The same\n"
"float as the SciPy CSR product grams.gram_matrix([head]) @ coef + intercept.");

static PyObject *
margin(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    int n_bits;
    Py_ssize_t n, k, i;
    Py_buffer view;
    void *work = NULL;
    uint32_t *cols = NULL;
    const double *coef;
    double intercept, sum = 0.0, w;

    if (nargs != 4) {
        PyErr_Format(PyExc_TypeError, "margin() takes 4 arguments (%zd given)", nargs);
        return NULL;
    }
    if (head_and_bits(args, "margin()", &n_bits) < 0)
        return NULL;
    if (!PyFloat_CheckExact(args[3])) {
        PyErr_Format(PyExc_TypeError, "margin(): intercept must be a float, not %.100s",
                     Py_TYPE(args[3])->tp_name);
        return NULL;
    }
    intercept = PyFloat_AS_DOUBLE(args[3]);
    if (!PyObject_CheckBuffer(args[2])) {
        PyErr_Format(PyExc_TypeError,
                     "margin(): coef must be a float64 array (a buffer), not %.100s",
                     Py_TYPE(args[2])->tp_name);
        return NULL;
    }
    if (PyObject_GetBuffer(args[2], &view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return NULL;  /* e.g. a NumPy array that is not C-contiguous */
    if (view.ndim != 1 || view.itemsize != (Py_ssize_t)sizeof(double)
        || !native_double(view.format)) {
        PyErr_SetString(PyExc_ValueError,
                        "margin(): coef must be a one-dimensional array of float64");
        goto fail;
    }
    if ((int64_t)view.shape[0] != ((int64_t)1 << n_bits)) {
        PyErr_Format(PyExc_ValueError, "margin(): coef has %zd weights, not 2**%d",
                     view.shape[0], n_bits);
        goto fail;
    }
    coef = (const double *)view.buf;

    n = PyBytes_GET_SIZE(args[0]);
    k = 0;
    if (n >= 4) {
        work = new_workspace(n);
        if (work == NULL)
            goto fail;
        k = sorted_columns((const unsigned char *)PyBytes_AS_STRING(args[0]), n, n_bits,
                           work, &cols);
    }
    if (k > 0) {
        /* each of the k entries of the row holds 1.0 / sqrt(k) (NumPy's
         * np.ones(k) / np.sqrt(k), both operations correctly rounded), and SciPy's
         * csr_matvec adds entry * weight to a sum that starts at 0.0, in stored
         * (sorted) order.  The product goes through a volatile so that no compiler
         * fuses it with the sum into one fma, which rounds once instead of twice. */
        w = 1.0 / sqrt((double)k);
        for (i = 0; i < k; i++) {
            volatile double term = w * coef[cols[i]];
            sum += term;
        }
    }
    PyMem_Free(work);
    PyBuffer_Release(&view);
    return PyFloat_FromDouble(sum + intercept);  /* then NumPy adds the intercept */

fail:
    PyMem_Free(work);
    PyBuffer_Release(&view);
    return NULL;
}

static PyMethodDef methods[] = {
    {"columns", (PyCFunction)(void (*)(void))columns, METH_FASTCALL, columns_doc},
    {"margin", (PyCFunction)(void (*)(void))margin, METH_FASTCALL, margin_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    "_cgrams",
    "The SVM's hashed character 4-grams and margin in C (see labkit.filters.grams).",
    -1,
    methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__cgrams(void)
{
    fill_white();
    return PyModule_Create(&module);
}
