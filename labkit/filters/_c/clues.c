/*
 * labkit.filters._cclues: Robinson's clue look-up and sums, compiled.
 *
 * The Python reference is labkit.filters.bayes._Robinsonian._py_clue_sums (and
 * SenderRobinson._py_rank_tokens for the sender test).  Once the f(w) memo table is
 * complete, a message's clues are its distinct tokens found in the table; the score
 * needs their number n, the exactly rounded sums of ln f and of ln(1 - f), and, for
 * SenderRobinson, whether any token is a known good or known bad sender.  This file
 * does that without building a Python set of the tokens:
 *
 * 1. the message's tokens are hashed and made distinct in a small local hash set (a
 *    message repeats about a third of its tokens), so each distinct token meets the big
 *    table once;
 * 2. the big table (about 370,000 clues, far larger than the CPU's faster caches) is
 *    read through an index built once per table (index()): an open-addressing array
 *    of 8-byte slots (a 32-bit tag of the hash, an entry number) and a dense array of
 *    (key, f) entries.  Each level (slot, entry, key) is requested from memory for all
 *    the message's tokens before the next level is read, so the waits overlap;
 * 3. the senders dict (a few thousand identities, cache-resident) is read as a dict.
 *
 * Exactness: the index answers as the dict would.  It is built only when every key is
 * an exact str, and it is asked only about exact str tokens (anything else goes to the
 * dict); for two exact str, dict equality is: same object, or same hash and the same
 * length, kind and code units.  ln f and ln(1 - f) come from the C library's log and
 * log1p, which is what math.log and math.log1p call for a float in (0, 1); the sums
 * are math.fsum itself (looked up once at import), so both paths add the same doubles
 * the same way.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <float.h>
#include <math.h>
#include <string.h>

/* Ask the CPU to start loading an address we will read soon (a hint: no effect on
 * results; compilers without the builtin simply skip it). */
#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)(p))
#endif

/* Before 3.12 a str may still need its canonical form computed (PyUnicode_READY);
 * from 3.12 on every str has it. */
#if PY_VERSION_HEX < 0x030C0000
#define STR_READY(s) PyUnicode_READY(s)
#else
#define STR_READY(s) 0
#endif

/* math.fsum, kept for the life of the process */
static PyObject *fsum_func = NULL;

/* Two exact str (ready): equal as dict and set compare them (one object, or the same
 * code units; a canonical str has one kind for one text).  Their hashes need not be
 * compared: equal texts have equal hashes. */
static int
same_str(PyObject *a, PyObject *b)
{
    if (a == b)
        return 1;
    Py_ssize_t len = PyUnicode_GET_LENGTH(a);
    if (len != PyUnicode_GET_LENGTH(b) || PyUnicode_KIND(a) != PyUnicode_KIND(b))
        return 0;
    return memcmp(PyUnicode_DATA(a), PyUnicode_DATA(b),
                  (size_t)len * PyUnicode_KIND(a)) == 0;
}

/* ---------------------------------------------------------------------------------
 * The index of a complete f(w) table.
 */

#define INDEX_NAME "labkit.filters._cclues.index"

/* The index is two arrays.  The entries, one per indexed key, are written in the
 * table's order, one after the other: (key, value).  The slots, a power of two of them
 * and at most half used, are the open-addressing part: 8 bytes each (32 bits of the
 * key's hash as a tag, and the entry's number), so the array that every look-up and
 * every insertion reads at a random place is 8 bytes a slot instead of 24 (for the
 * 374,000 clues of the benchmark's filter: 8 MB instead of 24 MB, which leaves room
 * in the CPU's last cache for the entries and the keys). */
typedef struct {
    PyObject *key; /* a strong reference: the index stays valid whatever the dict does */
    union {
        double f;      /* the f(w) table's value */
        long bits;     /* the senders': 1 known good, 2 known bad */
        PyObject *obj; /* while building only: the dict's value, borrowed */
    } v;
} Entry;

typedef struct {
    uint32_t tag;   /* hash_tag() of the key's hash */
    uint32_t entry; /* 1 + the entry's number; 0 marks an empty slot */
} Slot;

typedef struct {
    Slot *slots;
    size_t mask; /* number of slots - 1 */
    Entry *entries;
    Py_ssize_t used; /* number of entries */
    int ints;        /* the values are ints (else floats) */
} Index;

/* The 32 bits of a hash kept in its slot: the high half on 64-bit builds, as the low
 * bits already choose the slot.  Only a filter: equal keys have equal tags, and a key
 * is compared in full before it is taken. */
static inline uint32_t
hash_tag(Py_hash_t h)
{
    uint64_t u = (uint64_t)(Py_uhash_t)h;
    return sizeof(Py_hash_t) >= 8 ? (uint32_t)(u >> 32) : (uint32_t)u;
}

/* How far ahead the build loops ask for memory: far enough for the wait to be over
 * when the item is reached, near enough for the line to be still in cache. */
#define AHEAD 16

static void
index_free(Index *ix)
{
    if (ix->entries != NULL) {
        for (Py_ssize_t k = 0; k < ix->used; k++) {
            if (k + AHEAD < ix->used)
                PREFETCH(ix->entries[k + AHEAD].key); /* the keys lie all over the heap */
            Py_DECREF(ix->entries[k].key);
        }
        PyMem_RawFree(ix->entries);
    }
    PyMem_RawFree(ix->slots);
    PyMem_RawFree(ix);
}

static void
index_destructor(PyObject *capsule)
{
    Index *ix = PyCapsule_GetPointer(capsule, INDEX_NAME);
    if (ix != NULL)
        index_free(ix);
    else
        PyErr_Clear(); /* cannot happen for our own capsules; a destructor must not raise */
}

PyDoc_STRVAR(index_doc,
"index(table, /)\n"
"--\n\n"
"An index of table for clue_sums: table is the f(w) dict (token -> float) or the\n"
"senders dict (token -> int).  None when a key is not an exact str or an int does not\n"
"fit a C long (then clue_sums reads the dict).  It holds its own references to the\n"
"keys and copies of the values: build a new one when the table changes.  Entries\n"
"whose value is 0 are left out (falsy values are not clues, and OR nothing).");

/* Put entry number k (hash h) into its slot: the first free one from h's place on
 * (dict keys are distinct: nothing to compare, only a free slot to find). */
static inline void
index_put(Index *ix, Py_hash_t h, Py_ssize_t k)
{
    size_t i = (size_t)h & ix->mask;
    while (ix->slots[i].entry != 0)
        i = (i + 1) & ix->mask;
    ix->slots[i].tag = hash_tag(h);
    ix->slots[i].entry = (uint32_t)(k + 1);
}

/* The largest table indexed: a slot's entry number must hold every entry. */
#define INDEX_MOST ((Py_ssize_t)(UINT32_MAX / 4))

/* A new index with no entry yet, room for `most` (<= INDEX_MOST) entries, and its
 * slots: at most half of them will be used, so a token absent from the table meets
 * an empty slot soon.  NULL with MemoryError set when there is no memory. */
static Index *
index_new(Py_ssize_t most)
{
    size_t cap = 16;
    while (cap < (size_t)most * 2)
        cap *= 2;
    Index *ix = PyMem_RawCalloc(1, sizeof(Index));
    if (ix == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    ix->mask = cap - 1;
    ix->entries = PyMem_RawMalloc((size_t)(most > 0 ? most : 1) * sizeof(Entry));
    ix->slots = PyMem_RawCalloc(cap, sizeof(Slot));
    if (ix->entries == NULL || ix->slots == NULL) {
        index_free(ix);
        PyErr_NoMemory();
        return NULL;
    }
    return ix;
}

/* The slots of entries 0..used-1 (hashes[k]: entry k's key's hash), then the index as
 * a capsule that owns it (freed here when the capsule cannot be made).  The entries
 * go in in order; each one's slot is asked for AHEAD entries early, from its hash. */
static PyObject *
index_finish(Index *ix, const Py_hash_t *hashes)
{
    for (Py_ssize_t k = 0; k < ix->used; k++) {
        if (k + AHEAD < ix->used)
            PREFETCH(&ix->slots[(size_t)hashes[k + AHEAD] & ix->mask]);
        index_put(ix, hashes[k], k);
    }
    PyObject *capsule = PyCapsule_New(ix, INDEX_NAME, index_destructor);
    if (capsule == NULL)
        index_free(ix);
    return capsule;
}

static PyObject *
make_index(PyObject *Py_UNUSED(module), PyObject *table)
{
    if (!PyDict_CheckExact(table)) {
        PyErr_Format(PyExc_TypeError, "index: table must be a dict, not %.100s",
                     Py_TYPE(table)->tp_name);
        return NULL;
    }
    Py_ssize_t size = PyDict_GET_SIZE(table);
    if (size > INDEX_MOST)
        Py_RETURN_NONE; /* the dict answers */
    Index *ix = index_new(size);
    if (ix == NULL)
        return NULL;
    Py_hash_t *hashes = PyMem_RawMalloc((size_t)(size > 0 ? size : 1) * sizeof(Py_hash_t));
    if (hashes == NULL) {
        index_free(ix);
        return PyErr_NoMemory();
    }

    /* 1. the dict's (key, value) pairs, borrowed, in its order: this reads only the
     * dict's own arrays, not the keys (nothing here runs Python code, so the dict
     * cannot change before step 2 is done) */
    Py_ssize_t pos = 0, n = 0;
    PyObject *key, *value;
    while (n < size && PyDict_Next(table, &pos, &key, &value)) {
        ix->entries[n].key = key;
        ix->entries[n].v.obj = value;
        n++;
    }
    /* 2. check each key and value, and keep those to index (value not 0) as entries
     * 0..used-1, in place: each key object is a cache miss, so the keys AHEAD places on
     * are asked for first and the waits overlap.  A key is taken (a new reference) only
     * once everything before it passed, so a refusal gives back exactly those. */
    int ints = -1; /* unknown until the first value */
    for (Py_ssize_t k = 0; k < n; k++) {
        if (k + AHEAD < n)
            PREFETCH(ix->entries[k + AHEAD].key);
        key = ix->entries[k].key;
        value = ix->entries[k].v.obj;
        if (!PyUnicode_CheckExact(key))
            goto index_none;
        int is_int = PyLong_CheckExact(value);
        if ((!is_int && !PyFloat_CheckExact(value)) || (ints >= 0 && is_int != ints)) {
            PyErr_Format(PyExc_TypeError,
                         "index: the table's values must be all float or all int, not %.100s",
                         Py_TYPE(value)->tp_name);
            goto fail;
        }
        ints = is_int;
        double f = 0.0;
        long bits = 0;
        if (is_int) {
            int overflow = 0;
            bits = PyLong_AsLongAndOverflow(value, &overflow);
            if (overflow)
                goto index_none;
        }
        else
            f = PyFloat_AS_DOUBLE(value);
        if (STR_READY(key) < 0)
            goto fail;
        Py_hash_t h = PyObject_Hash(key); /* a str: its cached hash, never -1 here */
        if (h == -1)
            goto fail;
        if (f == 0.0 && bits == 0)
            continue; /* not a clue, or no standing */
        Entry *e = &ix->entries[ix->used]; /* used <= k: never ahead of the reading */
        Py_INCREF(key);
        e->key = key;
        if (is_int)
            e->v.bits = bits;
        else
            e->v.f = f;
        hashes[ix->used++] = h;
    }
    ix->ints = ints == 1;
    /* 3. the slots */
    PyObject *capsule = index_finish(ix, hashes);
    PyMem_RawFree(hashes);
    return capsule;

index_none:
    PyMem_RawFree(hashes);
    index_free(ix);
    Py_RETURN_NONE;
fail:
    PyMem_RawFree(hashes);
    index_free(ix);
    return NULL;
}

/* ---------------------------------------------------------------------------------
 * One message's distinct tokens.
 */

/* A distinct token of the message.  f: its table value (0.0 when not a clue);
 * probe: for an exact str read through the index, the first slot holding its hash
 * (or the empty slot that ends its probe). */
typedef struct {
    PyObject *token; /* a strong reference, held while other code may run */
    Py_hash_t hash;
    double f;
    size_t probe;
} Item;

/* The distinct tokens in the order first seen, and a hash set of their positions
 * (open addressing, -1 for empty) to find repeats.  Small messages use the buffers on
 * the caller's stack; bigger ones get heap memory. */
#define SMALL_ITEMS 512
#define SMALL_SET (2 * SMALL_ITEMS)

typedef struct {
    Item *items;
    Py_ssize_t n;
    int32_t *set;
    size_t mask;
    int on_heap;
} Tokens;

static void
tokens_free(Tokens *t)
{
    for (Py_ssize_t i = 0; i < t->n; i++)
        Py_DECREF(t->items[i].token);
    if (t->on_heap) {
        PyMem_Free(t->items);
        PyMem_Free(t->set);
    }
}

/* Room for up to `most` distinct tokens; -1 with MemoryError when there is none. */
static int
tokens_init(Tokens *t, Py_ssize_t most, Item *small_items, int32_t *small_set)
{
    size_t cap = 16;
    while (cap < (size_t)most * 2)
        cap *= 2;
    t->n = 0;
    t->mask = cap - 1;
    if (most <= SMALL_ITEMS) {
        t->items = small_items;
        t->set = small_set;
        t->on_heap = 0;
    }
    else {
        if ((size_t)most > (size_t)INT32_MAX) {
            PyErr_SetString(PyExc_OverflowError, "clue_sums: too many tokens");
            return -1;
        }
        t->items = PyMem_Malloc((size_t)most * sizeof(Item));
        t->set = PyMem_Malloc(cap * sizeof(int32_t));
        t->on_heap = 1;
        if (t->items == NULL || t->set == NULL) {
            PyMem_Free(t->items);
            PyMem_Free(t->set);
            t->on_heap = 0;
            PyErr_NoMemory();
            return -1;
        }
    }
    memset(t->set, 0xff, cap * sizeof(int32_t)); /* every position -1: empty */
    return 0;
}

/* Add token unless an equal one is there (as set(tokens) would: the first one seen
 * stays).  distinct: the tokens come from a set, no comparison needed.  The token's
 * index slot is prefetched when it is new.  0, or -1 with an exception set. */
static int
tokens_add(Tokens *t, PyObject *token, int distinct, const Index *ix)
{
    Py_hash_t h = PyObject_Hash(token); /* cached in a str after the first time */
    if (h == -1)
        return -1;
    int is_str = PyUnicode_CheckExact(token);
    if (is_str && STR_READY(token) < 0)
        return -1;
    size_t i = (size_t)h & t->mask;
    for (; t->set[i] >= 0; i = (i + 1) & t->mask) {
        if (distinct)
            continue;
        PyObject *seen = t->items[t->set[i]].token;
        if (seen == token)
            return 0;
        if (t->items[t->set[i]].hash != h)
            continue;
        int same;
        if (is_str && PyUnicode_CheckExact(seen))
            same = same_str(seen, token);
        else {
            /* other objects compare as a set compares them; that may run any code,
             * so both are held (the items hold theirs) */
            Py_INCREF(token);
            same = PyObject_RichCompareBool(seen, token, Py_EQ);
            Py_DECREF(token);
            if (same < 0)
                return -1;
        }
        if (same)
            return 0;
    }
    Item *it = &t->items[t->n];
    Py_INCREF(token);
    it->token = token;
    it->hash = h;
    it->f = 0.0;
    it->probe = 0;
    t->set[i] = (int32_t)t->n;
    t->n++;
    if (ix != NULL && is_str)
        PREFETCH(&ix->slots[(size_t)h & ix->mask]); /* read_index's first sweep */
    return 0;
}

/* The exact str tokens' clue values from the index, in three sweeps over the tokens
 * so that the memory waits of different tokens overlap: each probe walks its slots
 * (asked for by tokens_add) to the first slot with the token's tag and asks for that
 * entry; then each such entry's key is asked for; then the keys are compared.  Other
 * tokens get probe = ASK_DICT: only the dict can compare them as it would. */
#define ASK_DICT ((size_t)-1)

static void
read_index(Tokens *t, const Index *ix)
{
    const Slot *slots = ix->slots;
    const Entry *entries = ix->entries;
    for (Py_ssize_t k = 0; k < t->n; k++) {
        Item *it = &t->items[k];
        if (!PyUnicode_CheckExact(it->token)) {
            it->probe = ASK_DICT;
            continue;
        }
        uint32_t tag = hash_tag(it->hash);
        size_t i = (size_t)it->hash & ix->mask;
        while (slots[i].entry != 0 && slots[i].tag != tag)
            i = (i + 1) & ix->mask;
        it->probe = i;
        if (slots[i].entry != 0)
            PREFETCH(&entries[slots[i].entry - 1]);
    }
    for (Py_ssize_t k = 0; k < t->n; k++) {
        const Item *it = &t->items[k];
        if (it->probe != ASK_DICT && slots[it->probe].entry != 0) {
            PyObject *key = entries[slots[it->probe].entry - 1].key;
            if (key != it->token)
                PREFETCH(key);
        }
    }
    for (Py_ssize_t k = 0; k < t->n; k++) {
        Item *it = &t->items[k];
        if (it->probe == ASK_DICT)
            continue;
        /* a later slot may hold the same tag for another text: keep walking */
        uint32_t tag = hash_tag(it->hash);
        for (size_t i = it->probe; slots[i].entry != 0; i = (i + 1) & ix->mask) {
            if (slots[i].tag != tag)
                continue;
            const Entry *e = &entries[slots[i].entry - 1];
            if (same_str(e->key, it->token)) {
                it->f = e->v.f;
                break;
            }
        }
    }
}

/* One token's clue value from the dict into it->f (0.0 when absent).
 * 0, or -1 with an exception set. */
static int
read_dict(Item *it, PyObject *table)
{
    PyObject *value = PyDict_GetItemWithError(table, it->token); /* borrowed */
    if (value == NULL) {
        if (PyErr_Occurred())
            return -1;
        it->f = 0.0;
        return 0;
    }
    if (!PyFloat_CheckExact(value)) {
        PyErr_Format(PyExc_TypeError,
                     "clue_sums: the table's values must be float, not %.100s",
                     Py_TYPE(value)->tp_name);
        return -1;
    }
    it->f = PyFloat_AS_DOUBLE(value);
    return 0;
}

/* OR of the senders' values of the tokens into *meets, from the senders' index for
 * exact str tokens when there is one, else from the dict; 0, or -1 with an exception. */
static int
read_senders(const Tokens *t, PyObject *senders, const Index *ix, long *meets)
{
    for (Py_ssize_t k = 0; k < t->n; k++) {
        const Item *it = &t->items[k];
        if (ix != NULL && PyUnicode_CheckExact(it->token)) {
            /* the index of a small dict: in cache, no prefetching needed */
            uint32_t tag = hash_tag(it->hash);
            for (size_t i = (size_t)it->hash & ix->mask; ix->slots[i].entry != 0;
                 i = (i + 1) & ix->mask) {
                const Entry *e = &ix->entries[ix->slots[i].entry - 1];
                if (ix->slots[i].tag == tag && same_str(e->key, it->token)) {
                    *meets |= e->v.bits;
                    break;
                }
            }
            continue;
        }
        PyObject *flag = PyDict_GetItemWithError(senders, t->items[k].token); /* borrowed */
        if (flag == NULL) {
            if (PyErr_Occurred())
                return -1;
            continue;
        }
        if (!PyLong_CheckExact(flag)) {
            PyErr_Format(PyExc_TypeError,
                         "clue_sums: the senders' values must be int, not %.100s",
                         Py_TYPE(flag)->tp_name);
            return -1;
        }
        long bits = PyLong_AsLong(flag);
        if (bits == -1 && PyErr_Occurred())
            return -1;
        *meets |= bits;
    }
    return 0;
}

/* The correctly rounded sum of fn(f) over the clues' values (f != 0) into *out, by
 * Shewchuk's exact summation: the running sum is kept as a few non-overlapping
 * doubles ("partials", smallest first), each addition done exactly with two-sum, and
 * at the end the partials are added from the largest down with the round-half-even
 * correction.  A correctly rounded sum is one number, so it is math.fsum's to the
 * bit.  0 when done; -1 (no exception) when it cannot be sure: a value that is not
 * finite, more partials than room, or a compiler whose double arithmetic is not
 * plain IEEE double (then math.fsum itself does it, see sum_of). */
#define MAX_PARTIALS 64

static int
exact_sum(const Tokens *t, double (*fn)(double), double *out)
{
#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
    (void)t;
    (void)fn;
    (void)out;
    return -1; /* extended-precision intermediates would break two-sum */
#else
    double partials[MAX_PARTIALS];
    int n = 0;
    for (Py_ssize_t k = 0; k < t->n; k++) {
        double f = t->items[k].f;
        if (f == 0.0)
            continue;
        double x = fn(f);
        if (!isfinite(x))
            return -1;
        int kept = 0;
        for (int j = 0; j < n; j++) {
            double y = partials[j];
            if (fabs(x) < fabs(y)) {
                double swap = x;
                x = y;
                y = swap;
            }
            double hi = x + y;
            double lo = y - (hi - x); /* exact: hi + lo == x + y */
            if (lo != 0.0)
                partials[kept++] = lo;
            x = hi;
        }
        if (kept >= MAX_PARTIALS)
            return -1;
        partials[kept] = x;
        n = kept + 1;
        if (!isfinite(x))
            return -1; /* the sum overflowed */
    }
    /* add the partials from the largest down until the addition is inexact */
    double hi = 0.0, lo = 0.0;
    if (n > 0) {
        hi = partials[--n];
        while (n > 0) {
            double x = hi, y = partials[--n];
            hi = x + y;
            lo = y - (hi - x);
            if (lo != 0.0)
                break;
        }
        /* the rest pushes lo past a half-way point: round away from hi by one ulp
         * when doubling lo is exactly representable in the sum */
        if (n > 0 && ((lo < 0.0 && partials[n - 1] < 0.0) ||
                      (lo > 0.0 && partials[n - 1] > 0.0))) {
            double y = lo * 2.0;
            double x = hi + y;
            if (y == x - hi)
                hi = x;
        }
    }
    *out = hi;
    return 0;
#endif
}

/* The sum of fn(f) over the clues (n of them) as a float: exact_sum, or math.fsum
 * of a list of the n numbers when exact_sum cannot be sure. */
static PyObject *
sum_of(const Tokens *t, Py_ssize_t n, double (*fn)(double))
{
    double total;
    if (exact_sum(t, fn, &total) == 0)
        return PyFloat_FromDouble(total);
    PyObject *list = PyList_New(n);
    if (list == NULL)
        return NULL;
    Py_ssize_t k = 0;
    for (Py_ssize_t i = 0; i < t->n && k < n; i++) {
        double f = t->items[i].f;
        if (f == 0.0)
            continue;
        PyObject *x = PyFloat_FromDouble(fn(f));
        if (x == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, k++, x); /* steals x */
    }
    PyObject *sum = PyObject_CallOneArg(fsum_func, list);
    Py_DECREF(list);
    return sum;
}

static double
log_one_minus(double f)
{
    return log1p(-f);
}

/* *out = the Index in arg (an index() of a float table, or of an int table when ints),
 * or NULL for None; 0, or -1 with TypeError or ValueError set. */
static int
get_index(PyObject *arg, const char *what, int ints, const Index **out)
{
    *out = NULL;
    if (arg == Py_None)
        return 0;
    if (!PyCapsule_CheckExact(arg)) {
        PyErr_Format(PyExc_TypeError, "clue_sums: %s must be one from index() or None, not %.100s",
                     what, Py_TYPE(arg)->tp_name);
        return -1;
    }
    const Index *ix = PyCapsule_GetPointer(arg, INDEX_NAME); /* ValueError when not ours */
    if (ix == NULL)
        return -1;
    if (ix->used > 0 && ix->ints != ints) {
        PyErr_Format(PyExc_TypeError, "clue_sums: %s must index a dict of %s values", what,
                     ints ? "int" : "float");
        return -1;
    }
    *out = ix;
    return 0;
}

PyDoc_STRVAR(clue_sums_doc,
"clue_sums(table, tokens, max_discriminators, senders, index=None, senders_index=None, /)\n"
"--\n\n"
"(n, fsum(ln f), fsum(ln(1 - f)), meets) over the distinct tokens found in table.\n\n"
"table: dict token -> f(w) (float) of every clue token; tokens: list, tuple, set or\n"
"frozenset; max_discriminators: int; senders: dict token -> int (1 known good,\n"
"2 known bad) or None; index: index(table) of this very table, or None;\n"
"senders_index: index(senders) of these very senders, or None.  meets is\n"
"the OR of the senders' values of the tokens.  None when more than\n"
"max_discriminators tokens are clues, or a value is outside (0, 1): then the Python\n"
"path decides.");

static PyObject *
clue_sums(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 4 || nargs > 6) {
        PyErr_Format(PyExc_TypeError,
                     "clue_sums takes 4 to 6 arguments (table, tokens, max_discriminators, "
                     "senders[, index[, senders_index]]), not %zd", nargs);
        return NULL;
    }
    PyObject *table = args[0], *tokens = args[1], *limit = args[2], *senders = args[3];
    if (!PyDict_CheckExact(table)) {
        PyErr_Format(PyExc_TypeError, "clue_sums: table must be a dict, not %.100s",
                     Py_TYPE(table)->tp_name);
        return NULL;
    }
    const Index *ix = NULL, *senders_ix = NULL;
    if (nargs > 4 && get_index(args[4], "index", 0, &ix) < 0)
        return NULL;
    if (nargs > 5 && get_index(args[5], "senders_index", 1, &senders_ix) < 0)
        return NULL;
    int is_seq = PyList_CheckExact(tokens) || PyTuple_CheckExact(tokens);
    int is_set = PyAnySet_CheckExact(tokens);
    if (!is_seq && !is_set) {
        PyErr_Format(PyExc_TypeError,
                     "clue_sums: tokens must be a list, tuple, set or frozenset, not %.100s",
                     Py_TYPE(tokens)->tp_name);
        return NULL;
    }
    if (!PyLong_CheckExact(limit)) {
        PyErr_Format(PyExc_TypeError,
                     "clue_sums: max_discriminators must be an int, not %.100s",
                     Py_TYPE(limit)->tp_name);
        return NULL;
    }
    if (senders == Py_None) {
        senders = NULL;
        senders_ix = NULL;
    }
    else if (!PyDict_CheckExact(senders)) {
        PyErr_Format(PyExc_TypeError,
                     "clue_sums: senders must be a dict or None, not %.100s",
                     Py_TYPE(senders)->tp_name);
        return NULL;
    }
    int overflow = 0;
    long long most = PyLong_AsLongLongAndOverflow(limit, &overflow);
    if (most == -1 && PyErr_Occurred())
        return NULL;
    if (overflow > 0)
        most = LLONG_MAX; /* a huge limit: no message has that many clues */
    else if (overflow < 0 || most < 0) {
        PyErr_SetString(PyExc_ValueError, "clue_sums: max_discriminators must not be negative");
        return NULL;
    }

    Item small_items[SMALL_ITEMS];
    int32_t small_set[SMALL_SET];
    Tokens t;
    Py_ssize_t size = is_seq ? PySequence_Fast_GET_SIZE(tokens) : PySet_GET_SIZE(tokens);
    if (tokens_init(&t, size, small_items, small_set) < 0)
        return NULL;
    long meets = 0;

    /* 1. the distinct tokens */
    if (is_seq) {
        /* by index, re-reading the size: an __eq__ of an odd token could change a list;
         * never more than the room made above */
        for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(tokens) && i < size; i++) {
            PyObject *token = PySequence_Fast_GET_ITEM(tokens, i);
            Py_INCREF(token); /* held while a comparison may run other code */
            int rc = tokens_add(&t, token, 0, ix);
            Py_DECREF(token);
            if (rc < 0)
                goto fail;
        }
        if (PySequence_Fast_GET_SIZE(tokens) != size) {
            PyErr_SetString(PyExc_RuntimeError, "clue_sums: the tokens changed size");
            goto fail;
        }
    }
    else {
        PyObject *it = PyObject_GetIter(tokens);
        if (it == NULL)
            goto fail;
        PyObject *token;
        /* a set's iterator raises if the set changes size, so at most size tokens */
        while (t.n < size && (token = PyIter_Next(it)) != NULL) {
            int rc = tokens_add(&t, token, 1, ix);
            Py_DECREF(token);
            if (rc < 0) {
                Py_DECREF(it);
                goto fail;
            }
        }
        Py_DECREF(it);
        if (PyErr_Occurred())
            goto fail;
    }

    /* 2. their clue values: from the index when there is one, else (and for tokens
     * the index cannot answer for) from the dict */
    if (ix != NULL)
        read_index(&t, ix);
    for (Py_ssize_t k = 0; k < t.n; k++)
        if ((ix == NULL || t.items[k].probe == ASK_DICT) && read_dict(&t.items[k], table) < 0)
            goto fail;

    /* 3. the sender test */
    if (senders != NULL && read_senders(&t, senders, senders_ix, &meets) < 0)
        goto fail;

    /* the clues: the table's values that are not 0.0 (the Python path drops falsy ones) */
    Py_ssize_t n = 0;
    for (Py_ssize_t k = 0; k < t.n; k++) {
        double f = t.items[k].f;
        if (f == 0.0)
            continue;
        if (!(f > 0.0 && f < 1.0))
            goto python_decides; /* math.log / log1p would raise: leave it to Python */
        n++;
    }
    if ((long long)n > most)
        goto python_decides;

    PyObject *ln_f = NULL, *ln_1f = NULL, *result = NULL;
    if (n == 0) {
        ln_f = PyFloat_FromDouble(0.0);
        ln_1f = PyFloat_FromDouble(0.0);
    }
    else {
        ln_f = sum_of(&t, n, log);
        if (ln_f != NULL)
            ln_1f = sum_of(&t, n, log_one_minus);
    }
    if (ln_f != NULL && ln_1f != NULL)
        result = Py_BuildValue("(nOOl)", n, ln_f, ln_1f, meets);
    Py_XDECREF(ln_f);
    Py_XDECREF(ln_1f);
    tokens_free(&t);
    return result;

python_decides:
    tokens_free(&t);
    Py_RETURN_NONE;

fail:
    tokens_free(&t);
    return NULL;
}

/* ------------------------------------------------------------------------------------
 * clue_table: the whole f(w) memo table at once.
 *
 * The Python reference is labkit.filters.bayes._Robinsonian._py_fill with _clue_f:
 * for every counted token, in the counts' order, Robinson's f(w) from its (ham, spam)
 * counts, kept when it is a clue.  f(w) depends only on the pair, so it is computed once
 * per distinct pair (as _PairMemo does) and the tokens sharing a pair share one float.
 *
 * Exactness: every operation of _clue_f is done in double, in the same order.  A count
 * is used only when a double holds it exactly (|count| <= 2**53): then Python's int ->
 * float conversions and its exact int sum h + n_s (rounded once when used) give the same
 * doubles as ours.  Each intermediate result goes through a volatile, so no compiler
 * fuses a product into the next sum (an fma rounds once instead of twice) or keeps a
 * wider intermediate.  Whatever the C code does not reproduce is left to Python (the
 * function returns None): a count beyond 2**53, a value that is not a list or tuple of
 * two ints, a key that is not a str, a zero total, a zero denominator (Python raises).
 * ------------------------------------------------------------------------------------ */

/* every whole number up to this one in magnitude is exact in a double */
#define EXACT_LIMIT 9007199254740992LL /* 2**53 */

/* _clue_f's constants, each already rounded to a double */
typedef struct {
    double s, x, sx, inv_h, inv_s, lo, hi;
} FParams;

/* Robinson's f(w) for counts (h, n_s), as _clue_f computes it.
 * 1 with *out set when it is a clue, 0 when not, -1 when s + n is zero (Python would
 * raise ZeroDivisionError: it decides). */
static int
robinson_f(const FParams *r, long long h, long long n_s, double *out)
{
    volatile double hr = (double)h * r->inv_h;
    volatile double sr = (double)n_s * r->inv_s;
    volatile double both = hr + sr;
    volatile double ratio = both != 0.0 ? sr / both : r->x; /* NaN is true, as in Python */
    /* the exact int sum, rounded once (both counts are exact doubles) */
    volatile double n = (double)h + (double)n_s;
    volatile double weighted = n * ratio;
    volatile double den = r->s + n;
    if (den == 0.0)
        return -1;
    volatile double p = (r->sx + weighted) / den;
    double f = p;
    if ((f <= r->lo || f >= r->hi) && 0.0 < f && f < 1.0) {
        *out = f;
        return 1;
    }
    return 0;
}

/* One distinct (ham, spam) pair met so far and its f(w): a float (a new reference)
 * when a clue, NULL when not. */
typedef struct {
    long long ham, spam;
    PyObject *f;
    int used;
} Pair;

/* The pairs met so far: open addressing, at most half full. */
typedef struct {
    Pair *slots;
    size_t mask; /* capacity - 1, capacity a power of two */
    size_t used;
} Pairs;

static size_t
pair_hash(long long h, long long s)
{
    /* mix both counts so that small neighbouring pairs spread over the table */
    uint64_t k = (uint64_t)h * 0x9E3779B97F4A7C15ULL + (uint64_t)s;
    k ^= k >> 31;
    k *= 0xD6E8FEB86659FD93ULL;
    k ^= k >> 29;
    return (size_t)k;
}

/* The slot of (h, s): the one holding it, or the empty one where it goes. */
static Pair *
pairs_slot(const Pairs *t, long long h, long long s)
{
    size_t i = pair_hash(h, s) & t->mask;
    while (t->slots[i].used && (t->slots[i].ham != h || t->slots[i].spam != s))
        i = (i + 1) & t->mask;
    return &t->slots[i];
}

/* Double the capacity; -1 with MemoryError set when there is no memory. */
static int
pairs_grow(Pairs *t)
{
    size_t cap = (t->mask + 1) * 2;
    Pairs bigger = {PyMem_Calloc(cap, sizeof(Pair)), cap - 1, t->used};
    if (bigger.slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (size_t i = 0; i <= t->mask; i++)
        if (t->slots[i].used)
            *pairs_slot(&bigger, t->slots[i].ham, t->slots[i].spam) = t->slots[i];
    PyMem_Free(t->slots);
    *t = bigger;
    return 0;
}

static void
pairs_free(Pairs *t)
{
    for (size_t i = 0; i <= t->mask; i++)
        Py_XDECREF(t->slots[i].f);
    PyMem_Free(t->slots);
}

/* An exact int that a double holds exactly, into *out: 1; anything else: 0. */
static int
exact_count(PyObject *v, long long *out)
{
    if (!PyLong_CheckExact(v))
        return 0;
    int overflow = 0;
    long long c = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (overflow || c > EXACT_LIMIT || c < -EXACT_LIMIT)
        return 0; /* (no exception is set for an overflow) */
    *out = c;
    return 1;
}

/* A token's counts: a list or tuple of two such ints.  1, or 0 when it is anything else. */
static int
count_pair(PyObject *v, long long *h, long long *s)
{
    if (PyList_CheckExact(v) || PyTuple_CheckExact(v))
        return PySequence_Fast_GET_SIZE(v) == 2
               && exact_count(PySequence_Fast_GET_ITEM(v, 0), h)
               && exact_count(PySequence_Fast_GET_ITEM(v, 1), s);
    return 0;
}

PyDoc_STRVAR(clue_table_doc,
"clue_table(counts, nham, nspam, strength, prior, min_dev, /)\n"
"--\n\n"
"{token: f(w)} of every token of counts whose Robinson f(w) is a clue, in counts'\n"
"order: what _Robinsonian._py_fill builds, the same floats to the last bit.\n\n"
"counts: dict str -> [ham count, spam count]; nham, nspam: int; strength, prior,\n"
"min_dev: float.  None when the Python path must decide: a key not a str, a value\n"
"not a list or tuple of two ints, a count or total beyond 2**53, a zero total, or a\n"
"zero denominator.");

PyDoc_STRVAR(indexed_clue_table_doc,
"indexed_clue_table(counts, nham, nspam, strength, prior, min_dev, /)\n"
"--\n\n"
"(clue_table(...), index(that table)) built in one pass over counts (the index as\n"
"index() would build it; None for it when the table is too large to index).  None\n"
"when clue_table would give None.");

/* One token of counts, borrowed, while the table is built. */
typedef struct {
    PyObject *token, *value;
} Counted;

/* clue_table, and with ixp not NULL its index (*ixp: a capsule, or None when the table
 * is too large to index) at the same time: each clue's key is in cache right after
 * the table takes it, so the index takes it then instead of in a second pass over the
 * table, where every key would be a cache miss again. */
static PyObject *
build_table(const char *fname, PyObject *const *args, Py_ssize_t nargs, PyObject **ixp)
{
    static const char *const names[] = {"counts", "nham", "nspam", "strength", "prior",
                                        "min_dev"};
    if (nargs != 6) {
        PyErr_Format(PyExc_TypeError,
                     "%s takes 6 arguments (counts, nham, nspam, strength, prior, "
                     "min_dev), not %zd", fname, nargs);
        return NULL;
    }
    if (!PyDict_CheckExact(args[0])) {
        PyErr_Format(PyExc_TypeError, "%s: counts must be a dict, not %.100s", fname,
                     Py_TYPE(args[0])->tp_name);
        return NULL;
    }
    for (int i = 1; i < 6; i++) {
        int ok = i < 3 ? PyLong_CheckExact(args[i]) : PyFloat_CheckExact(args[i]);
        if (!ok) {
            PyErr_Format(PyExc_TypeError, "%s: %s must be %s, not %.100s", fname, names[i],
                         i < 3 ? "an int" : "a float", Py_TYPE(args[i])->tp_name);
            return NULL;
        }
    }
    PyObject *counts = args[0];
    long long nham, nspam;
    if (!exact_count(args[1], &nham) || !exact_count(args[2], &nspam) || nham == 0
        || nspam == 0)
        Py_RETURN_NONE; /* 1.0 / 0 raises in Python; a huge total: Python's arithmetic */

    /* _clue_f's constants, in its order: sx = s * x, the reciprocals, lo and hi */
    FParams r;
    r.s = PyFloat_AS_DOUBLE(args[3]);
    r.x = PyFloat_AS_DOUBLE(args[4]);
    double min_dev = PyFloat_AS_DOUBLE(args[5]);
    volatile double sx = r.s * r.x;
    volatile double inv_h = 1.0 / (double)nham;
    volatile double inv_s = 1.0 / (double)nspam;
    volatile double lo = 0.5 - min_dev;
    volatile double hi = 0.5 + min_dev;
    r.sx = sx;
    r.inv_h = inv_h;
    r.inv_s = inv_s;
    r.lo = lo;
    r.hi = hi;

    Py_ssize_t size = PyDict_GET_SIZE(counts);
    Pairs pairs = {PyMem_Calloc(1024, sizeof(Pair)), 1023, 0};
    Counted *todo = PyMem_Malloc((size_t)(size > 0 ? size : 1) * sizeof(Counted));
    Index *ix = NULL;
    Py_hash_t *hashes = NULL;
    PyObject *table = NULL;
    if (pairs.slots == NULL || todo == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    if (ixp != NULL && size <= INDEX_MOST) {
        /* room for every token: the clues are not known yet */
        ix = index_new(size);
        hashes = PyMem_Malloc((size_t)(size > 0 ? size : 1) * sizeof(Py_hash_t));
        if (ix == NULL || hashes == NULL) {
            if (ix != NULL)
                PyErr_NoMemory();
            goto fail;
        }
    }
    /* The tokens and their counts, borrowed, in counts' order (this reads only the
     * dict's arrays).  Nothing below runs Python code (str keys hash and compare in C;
     * the values replaced in the table stay alive in counts), so counts cannot change
     * while they are used. */
    Py_ssize_t n = 0, pos = 0;
    PyObject *token, *value;
    while (n < size && PyDict_Next(counts, &pos, &token, &value))
        todo[n++] = (Counted){token, value};
    /* The table starts as a copy of counts (a block copy, far faster than inserting
     * 400,000 keys one by one), keeping their order; each token's value is then
     * replaced by its f(w), or the token dropped when it is not a clue. */
    table = PyDict_Copy(counts);
    if (table == NULL)
        goto fail;
    Py_ssize_t dropped = 0;
    for (Py_ssize_t k = 0; k < n; k++) {
        /* the tokens, their counts and the counts' items lie all over the heap: ask for
         * them ahead (the items' address is read from the count list asked for earlier) */
        if (k + AHEAD < n) {
            PREFETCH(todo[k + AHEAD].token);
            PREFETCH(todo[k + AHEAD].value);
        }
        if (k + AHEAD / 2 < n && PyList_CheckExact(todo[k + AHEAD / 2].value))
            PREFETCH(PySequence_Fast_ITEMS(todo[k + AHEAD / 2].value));
        token = todo[k].token;
        value = todo[k].value;
        long long h, s;
        if (!PyUnicode_CheckExact(token) || !count_pair(value, &h, &s))
            goto python_decides;
        Pair *slot = pairs_slot(&pairs, h, s);
        PyObject *f = slot->f;
        if (!slot->used) {
            double p;
            int clue = robinson_f(&r, h, s, &p);
            if (clue < 0)
                goto python_decides;
            if (clue && (f = PyFloat_FromDouble(p)) == NULL)
                goto fail;
            *slot = (Pair){h, s, f, 1}; /* the table of pairs owns f */
            if (++pairs.used * 2 > pairs.mask + 1 && pairs_grow(&pairs) < 0)
                goto fail;
        }
        if (f != NULL) {
            if (PyDict_SetItem(table, token, f) < 0)
                goto fail;
            if (ix != NULL) {
                /* as index() would take it (a clue's f is never 0) */
                Py_hash_t th = PyObject_Hash(token); /* cached: the dict just used it */
                if (th == -1 || STR_READY(token) < 0)
                    goto fail;
                Py_INCREF(token);
                ix->entries[ix->used] = (Entry){token, {.f = PyFloat_AS_DOUBLE(f)}};
                hashes[ix->used++] = th;
            }
        }
        else {
            if (PyDict_DelItem(table, token) < 0)
                goto fail;
            dropped++;
        }
    }
    pairs_free(&pairs);
    PyMem_Free(todo);
    if (dropped > PyDict_GET_SIZE(table)) {
        /* mostly dropped (a large min_dev): a compact copy of the few clues left */
        PyObject *compact = PyDict_Copy(table);
        Py_DECREF(table);
        table = compact;
        if (table == NULL)
            goto fail_index;
    }
    if (ixp != NULL) {
        if (ix == NULL)
            *ixp = Py_NewRef(Py_None); /* too large to index: the dict answers */
        else {
            *ixp = index_finish(ix, hashes); /* frees ix when it fails */
            ix = NULL;
            if (*ixp == NULL)
                goto fail_index;
        }
        PyMem_Free(hashes);
    }
    return table;

python_decides:
    pairs_free(&pairs);
    PyMem_Free(todo);
    PyMem_Free(hashes);
    if (ix != NULL)
        index_free(ix);
    Py_DECREF(table);
    Py_RETURN_NONE;

fail:
    if (pairs.slots != NULL)
        pairs_free(&pairs);
    PyMem_Free(todo);
fail_index:
    PyMem_Free(hashes);
    if (ix != NULL)
        index_free(ix);
    Py_XDECREF(table);
    return NULL;
}

static PyObject *
clue_table(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    return build_table("clue_table", args, nargs, NULL);
}

static PyObject *
indexed_clue_table(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *index = NULL;
    PyObject *table = build_table("indexed_clue_table", args, nargs, &index);
    if (table == NULL || table == Py_None)
        return table;
    PyObject *both = PyTuple_Pack(2, table, index);
    Py_DECREF(table);
    Py_DECREF(index);
    return both;
}

static PyMethodDef methods[] = {
    {"clue_sums", (PyCFunction)(void (*)(void))clue_sums, METH_FASTCALL, clue_sums_doc},
    {"index", make_index, METH_O, index_doc},
    {"clue_table", (PyCFunction)(void (*)(void))clue_table, METH_FASTCALL, clue_table_doc},
    {"indexed_clue_table", (PyCFunction)(void (*)(void))indexed_clue_table, METH_FASTCALL,
     indexed_clue_table_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    "labkit.filters._cclues",
    "Robinson's clue look-up and sums (compiled; labkit.filters.bayes is the reference).",
    -1,
    methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC
PyInit__cclues(void)
{
    if (fsum_func == NULL) {
        PyObject *math = PyImport_ImportModule("math");
        if (math == NULL)
            return NULL;
        fsum_func = PyObject_GetAttrString(math, "fsum");
        Py_DECREF(math);
        if (fsum_func == NULL)
            return NULL;
    }
    return PyModule_Create(&module);
}
