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
 * |hash| mod 2**n_bits.  The columns are made distinct and put in ascending order by a
 * bitmap, or for n_bits above BITMAP_MAX_BITS (a module constant too) by a radix sort:
 * see "distinct columns" below.
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
 * returns the folded length (never more than n).  No branch per byte (white space comes
 * every few bytes, in no order a CPU can guess): a byte is kept unless it and the byte
 * before are both white, and a kept white byte followed by another white one is
 * written as a space.  A byte that is not kept is written all the same, where the next
 * kept byte overwrites it, so out must have room for n bytes. */
static Py_ssize_t
fold_white(const unsigned char *head, Py_ssize_t n, unsigned char *out)
{
    Py_ssize_t i, m = 0;
    unsigned int prev = 0, here, next;
    if (n == 0)
        return 0;
    here = white[head[0]];
    for (i = 0; i + 1 < n; i++) {
        unsigned int c = head[i];
        next = white[head[i + 1]];
        /* -(here & next) is all ones when this byte starts a run: c becomes ' ' */
        out[m] = (unsigned char)(c ^ ((c ^ ' ') & -(here & next)));
        m += !(here & prev);
        prev = here;
        here = next;
    }
    out[m] = head[n - 1];  /* the last byte: no byte follows to make it a run */
    m += !(here & prev);
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

/* MurmurHash3 of a 4-byte key given as the native word it is read as: one block, no
 * tail (what murmur3_32(key, 4) computes, without the loop). */
static inline uint32_t
murmur3_word(uint32_t k)
{
    uint32_t h = scramble(k);
    h = rotl32(h, 13);
    h = h * 5 + 0xe6546b64u;
    return avalanche(h ^ 4u);
}

/* The hash of a 4-character gram with a byte >= 0x80 (Latin-1): the gram is first
 * encoded as UTF-8, two bytes for each such character (110000xx 10xxxxxx). */
static uint32_t
wide_gram_hash(const unsigned char *text)
{
    unsigned char utf8[8];
    size_t len = 0;
    int j;
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
    return murmur3_32(utf8, len);
}

/* scikit-learn's column of a hash h (read as an int32): |h| mod size, for size =
 * mask + 1 a power of two up to 2**31, so "mod size" of a number >= 0 is "and mask" (a
 * division costs ~40 cycles).  |h| is taken as an unsigned 32-bit number, without a
 * branch.  For h = -2**31, which has no int32 absolute value, that gives 2**31 and
 * column 0; scikit-learn's rule for it, (2**31 - 1 - (size - 1)) mod size, is
 * (2**31 - size) mod size: also 0 for every such size. */
static inline uint32_t
column_of(uint32_t h, uint32_t mask)
{
    uint32_t sign = (uint32_t)0 - (h >> 31);  /* all ones when h < 0 as an int32 */
    return ((h ^ sign) - sign) & mask;
}

/* The columns of the g grams of the folded text (gram i: bytes i to i + 3), in text
 * order.  Plain ASCII is its own UTF-8: its four bytes are hashed as they lie. */
static void
hash_grams(const unsigned char *text, Py_ssize_t g, uint32_t mask, uint32_t *cols)
{
    Py_ssize_t i;
    for (i = 0; i < g; i++) {
        uint32_t word;
        memcpy(&word, text + i, 4);
        if (word & 0x80808080u)  /* a byte >= 0x80: rare in mail headers */
            cols[i] = column_of(wide_gram_hash(text + i), mask);
        else
            cols[i] = column_of(murmur3_word(word), mask);
    }
}

/* ---- distinct columns, in ascending order ----------------------------------------------
 * A head of 3,000 bytes has ~3,000 grams in ~1,500 distinct columns.  Two ways to make
 * them distinct and sorted, chosen by n_bits:
 *
 * - up to BITMAP_MAX_BITS, a bitmap of 2**n_bits bits (128 KB for 2**20: it stays in
 *   the L2 cache, where the bits are set and read at random): each column sets its bit (counting the bits that were still clear),
 *   and a summary bitmap, one bit per 64-bit word of the first, says which words are
 *   not empty, so that the ascending walk reads only those.  The walk clears every
 *   word it reads, so the bitmap is all zeros again when a call ends, at no extra cost
 *   and without a memset of the whole map;
 * - above it, where the bitmap would no longer fit in the L2 cache (measured: from 2**22
 *   columns on, the sort is the faster; at 2**31 the bitmap would be 256 MB), a
 *   least-significant-digit radix sort,
 *   then the repeats dropped: no comparisons, a cost linear in the number of grams,
 *   where qsort's comparison callbacks cost several times more.  A column of n_bits
 *   bits is sorted in passes of at most DIGIT_BITS bits, the bits shared out evenly
 *   (2**28 columns: three passes of 10 bits; 2**31: three of 11).
 *
 * The bitmap is module-level memory, allocated at its first use and grown (never
 * shrunk) when a larger n_bits comes.  It is shared by every call: that is safe because
 * the GIL is held from the first bit set to the walk that clears the last one (no call
 * in between releases it or can run Python code), and because the module declares no
 * free-threading support, so a free-threaded (3.13t) build turns the GIL on when it
 * imports it (PYTHON_GIL=0, which forces it off, would make the sharing unsafe). */
#ifndef BITMAP_MAX_BITS  /* -DBITMAP_MAX_BITS=n to measure another choice */
#define BITMAP_MAX_BITS 21
#endif
#define DIGIT_BITS 11
#define MAX_PASSES 3  /* enough for n_bits up to 33 */

static uint64_t *bitmap = NULL;  /* the bits, then the summary; NULL until first used */
static int bitmap_bits = -1;     /* the largest n_bits the bitmap has room for */

/* 64-bit words of the bitmap, and of its summary, for columns of n_bits bits */
static size_t
bitmap_words(int n_bits)
{
    return n_bits > 6 ? (size_t)1 << (n_bits - 6) : 1;
}

static size_t
summary_words(int n_bits)
{
    return n_bits > 12 ? (size_t)1 << (n_bits - 12) : 1;
}

/* Make the bitmap big enough for n_bits (<= BITMAP_MAX_BITS); 0, or -1 with
 * MemoryError set.  A new one is all zeros; the old one is all zeros between calls, so
 * nothing is lost in the swap.  The raw allocator: the memory belongs to the process,
 * not to one interpreter, as the static pointer does. */
static int
bitmap_for(int n_bits)
{
    uint64_t *fresh;
    if (n_bits <= bitmap_bits)
        return 0;
    fresh = PyMem_RawCalloc(bitmap_words(n_bits) + summary_words(n_bits), sizeof(uint64_t));
    if (fresh == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    PyMem_RawFree(bitmap);
    bitmap = fresh;
    bitmap_bits = n_bits;
    return 0;
}

/* Ask the CPU to start loading the cache line at p (a hint: no effect on results) */
#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)(p))
#endif

/* The index of the lowest set bit of x (x != 0) */
static inline int
low_bit(uint64_t x)
{
#if (defined(__GNUC__) || defined(__clang__)) && !defined(GRAMS_PORTABLE_BITS)
    return __builtin_ctzll(x);
#else  /* any other compiler: a byte, then a bit at a time */
    int i = 0;
    while (!(x & 0xff)) {
        x >>= 8;
        i += 8;
    }
    while (!(x & 1)) {
        x >>= 1;
        i++;
    }
    return i;
#endif
}

/* Set the bits of the g columns in bits and their words' bits in summary; returns how
 * many distinct columns there are (bits that were clear before), counted without a
 * branch: about half the grams repeat an earlier column, in no order a CPU can guess.
 * coef: margin's weights, or NULL.  Their ~1,500 reads, scattered over 8 MB for 2**20
 * columns, are mostly cache misses; asked for here, the loads overlap the marking and
 * the walk instead of stalling the sum one after the other (2 us of 15 per message). */
static Py_ssize_t
mark_columns(const uint32_t *cols, Py_ssize_t g, uint64_t *bits, uint64_t *summary,
             const double *coef)
{
    Py_ssize_t i, k = 0;
    for (i = 0; i < g; i++) {
        uint32_t c = cols[i];
        uint64_t bit = (uint64_t)1 << (c & 63), old = bits[c >> 6];
        bits[c >> 6] = old | bit;
        k += !(old & bit);
        summary[c >> 12] |= (uint64_t)1 << ((c >> 6) & 63);
        if (coef != NULL)
            PREFETCH(coef + c);
    }
    return k;
}

/* Write the marked columns to out in ascending order, clearing the bits and the
 * summary's n_summary words as they are read. */
static void
walk_columns(uint64_t *bits, uint64_t *summary, size_t n_summary, uint32_t *out)
{
    size_t s;
    for (s = 0; s < n_summary; s++) {
        uint64_t todo = summary[s];  /* the words of this stretch that have a bit set */
        if (todo == 0)
            continue;
        summary[s] = 0;
        do {
            size_t w = s * 64 + (size_t)low_bit(todo);
            uint64_t word = bits[w];  /* not zero: its summary bit was set */
            todo &= todo - 1;
            bits[w] = 0;
            do {
                *out++ = (uint32_t)(w * 64 + (size_t)low_bit(word));
                word &= word - 1;
            } while (word);
        } while (todo);
    }
}

/* Radix-sort the g columns of a (n_bits bits each) using b and count as scratch, drop
 * the repeats; returns how many are left and points *sorted at them (a or b). */
static Py_ssize_t
sort_columns(uint32_t *a, uint32_t *b, Py_ssize_t g, int n_bits, Py_ssize_t *count,
             const double *coef, uint32_t **sorted)
{
    int passes = (n_bits + DIGIT_BITS - 1) / DIGIT_BITS;
    int digit = passes ? (n_bits + passes - 1) / passes : 0;
    Py_ssize_t buckets = (Py_ssize_t)1 << digit, i, k, sum;
    uint32_t mask = (uint32_t)buckets - 1, last, *t;
    int p;

    /* every pass's digit counts in one read of the columns (and the weights' prefetch,
     * as in mark_columns) */
    memset(count, 0, (size_t)(passes * buckets) * sizeof(Py_ssize_t));
    for (i = 0; i < g; i++) {
        for (p = 0; p < passes; p++)
            count[p * buckets + ((a[i] >> (p * digit)) & mask)]++;
        if (coef != NULL)
            PREFETCH(coef + a[i]);
    }
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
     * keep it only if new); the last value read is kept in a register, as reading it
     * back from a[k - 1] would wait on the store just made */
    last = a[0];
    k = 1;
    for (i = 1; i < g; i++) {
        uint32_t v = a[i];
        a[k] = v;
        k += v != last;
        last = v;
    }
    *sorted = a;
    return k;
}

/* Work space for a head of n bytes and n_bits: n columns and the folded text, plus, for
 * the sort, a second array of n columns (the sort moves between them) and the digit
 * counts; for the bitmap, makes sure the bitmap is there.  NULL with MemoryError set. */
static void *
new_workspace(Py_ssize_t n, int n_bits)
{
    size_t counts = 0, per_byte = 5;
    void *work;
    if (n_bits > BITMAP_MAX_BITS) {
        counts = MAX_PASSES * ((size_t)1 << DIGIT_BITS) * sizeof(Py_ssize_t);
        per_byte = 9;
    }
    else if (bitmap_for(n_bits) < 0) {
        return NULL;
    }
    if (n > (Py_ssize_t)((PY_SSIZE_T_MAX - counts) / per_byte))
        return PyErr_NoMemory();
    work = PyMem_Malloc(counts + (size_t)n * per_byte);
    if (work == NULL)
        return PyErr_NoMemory();
    return work;
}

/* The sorted, distinct columns of head's grams: returns their count and points *cols
 * into work (from new_workspace(n, n_bits)).  coef: the weights that margin will read
 * at those columns (to prefetch), or NULL. */
static Py_ssize_t
distinct_columns(const unsigned char *head, Py_ssize_t n, int n_bits, void *work,
                 const double *coef, uint32_t **cols)
{
    int sorting = n_bits > BITMAP_MAX_BITS;
    Py_ssize_t *count = (Py_ssize_t *)work;
    uint32_t *a = (uint32_t *)(count + (sorting ? MAX_PASSES * ((size_t)1 << DIGIT_BITS) : 0));
    uint32_t *b = a + n;
    unsigned char *text = (unsigned char *)(sorting ? b + n : b);
    Py_ssize_t m, g, k;

    *cols = a;
    m = fold_white(head, n, text);
    if (m < 4)
        return 0;
    g = m - 3;  /* one gram starts at each of the first m - 3 characters */
    hash_grams(text, g, (uint32_t)(((uint64_t)1 << n_bits) - 1), a);
    if (sorting)
        return sort_columns(a, b, g, n_bits, count, coef, cols);
    /* from here to the end of the walk: no exit, no Python, no GIL released */
    k = mark_columns(a, g, bitmap, bitmap + bitmap_words(bitmap_bits), coef);
    walk_columns(bitmap, bitmap + bitmap_words(bitmap_bits), summary_words(n_bits), a);
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
    work = new_workspace(n, n_bits);
    if (work == NULL)
        return NULL;
    k = distinct_columns((const unsigned char *)PyBytes_AS_STRING(args[0]), n, n_bits, work,
                         NULL, &cols);
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
        work = new_workspace(n, n_bits);
        if (work == NULL)
            goto fail;
        k = distinct_columns((const unsigned char *)PyBytes_AS_STRING(args[0]), n, n_bits,
                             work, coef, &cols);
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
    PyObject *m;
    fill_white();
    m = PyModule_Create(&module);
    /* the largest n_bits that takes the bitmap path (tests cover both sides) */
    if (m != NULL && PyModule_AddIntConstant(m, "BITMAP_MAX_BITS", BITMAP_MAX_BITS) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
