/*
 * labkit.filters._cclues: Robinson's clue look-up and sums, compiled.
 *
 * The Python reference is labkit.filters.bayes._Robinsonian._py_clue_sums (and
 * SenderRobinson._py_rank_tokens for the sender test).  Once the f(w) memo table is
 * complete, a message's clues are its distinct tokens found in the table; the score
 * needs their number n, the exactly rounded sums of ln f and of ln(1 - f), and, for
 * SenderRobinson, whether any token is a known good or known bad sender.  This file
 * does that in one pass over the tokens, without building a Python set of them.
 *
 * Exactness: ln f and ln(1 - f) come from the C library's log and log1p, which is
 * what math.log and math.log1p call for a float in (0, 1); the sums are math.fsum
 * itself (looked up once at import), so both paths add the same doubles the same way.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>

/* math.fsum, kept for the life of the process */
static PyObject *fsum_func = NULL;

/* One clue seen in this message: the token (a new reference), its hash, its f(w). */
typedef struct {
    PyObject *key;
    Py_hash_t hash;
    double f;
} Slot;

/* The clues found so far, an open-addressing hash set keyed on the token, so a token
 * repeated in the message counts once (as in the Python set(tokens)).  It starts in a
 * buffer on the caller's stack and moves to the heap when a message has many clues. */
#define SMALL_SLOTS 512

typedef struct {
    Slot *slots;
    Py_ssize_t mask; /* capacity - 1, capacity a power of two */
    Py_ssize_t used;
    int on_heap;
} Clues;

static void
clues_free(Clues *c)
{
    for (Py_ssize_t i = 0; i <= c->mask; i++)
        Py_XDECREF(c->slots[i].key);
    if (c->on_heap)
        PyMem_Free(c->slots);
}

/* Put an entry known to be absent into slots (used when growing). */
static void
clues_place(Slot *slots, Py_ssize_t mask, Slot entry)
{
    size_t i = (size_t)entry.hash & (size_t)mask;
    while (slots[i].key != NULL)
        i = (i + 1) & (size_t)mask;
    slots[i] = entry;
}

/* Double the capacity; -1 with MemoryError set when there is no memory. */
static int
clues_grow(Clues *c)
{
    Py_ssize_t cap = (c->mask + 1) * 2;
    Slot *bigger = PyMem_Calloc((size_t)cap, sizeof(Slot));
    if (bigger == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i <= c->mask; i++)
        if (c->slots[i].key != NULL)
            clues_place(bigger, cap - 1, c->slots[i]);
    if (c->on_heap)
        PyMem_Free(c->slots);
    c->slots = bigger;
    c->mask = cap - 1;
    c->on_heap = 1;
    return 0;
}

/* Record token (hash h, value f) unless an equal token is already there.  With
 * distinct set (the tokens came from a set) no comparison is needed.
 * Returns 0 when done, -1 with an exception set (a failing __eq__, no memory). */
static int
clues_add(Clues *c, PyObject *token, Py_hash_t h, double f, int distinct)
{
    size_t i = (size_t)h & (size_t)c->mask;
    while (c->slots[i].key != NULL) {
        if (!distinct && c->slots[i].hash == h) {
            int same = PyObject_RichCompareBool(c->slots[i].key, token, Py_EQ);
            if (same < 0)
                return -1;
            if (same)
                return 0;
        }
        i = (i + 1) & (size_t)c->mask;
    }
    Py_INCREF(token);
    c->slots[i].key = token;
    c->slots[i].hash = h;
    c->slots[i].f = f;
    c->used++;
    /* keep the table at most half full, so probes stay short */
    if (c->used * 2 > c->mask + 1)
        return clues_grow(c);
    return 0;
}

/* Look one token up: its clue value into the set, its sender standing into *meets.
 * Returns 0, or -1 with an exception set. */
static int
visit(PyObject *token, PyObject *table, PyObject *senders, Clues *c, int distinct,
      long *meets)
{
    Py_hash_t h = PyObject_Hash(token); /* cached in a str after the first time */
    if (h == -1)
        return -1;
    PyObject *value = PyDict_GetItemWithError(table, token); /* borrowed */
    if (value == NULL) {
        if (PyErr_Occurred())
            return -1;
    }
    else {
        if (!PyFloat_CheckExact(value)) {
            PyErr_Format(PyExc_TypeError,
                         "clue_sums: the table's values must be float, not %.100s",
                         Py_TYPE(value)->tp_name);
            return -1;
        }
        double f = PyFloat_AS_DOUBLE(value);
        /* the Python path drops falsy values (filter(None, ...)); the table holds none */
        if (f != 0.0 && clues_add(c, token, h, f, distinct) < 0)
            return -1;
    }
    if (senders != NULL) {
        PyObject *flag = PyDict_GetItemWithError(senders, token); /* borrowed */
        if (flag == NULL) {
            if (PyErr_Occurred())
                return -1;
        }
        else {
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
    }
    return 0;
}

/* math.fsum of fn(f) over the clues' values, reusing one list for the numbers. */
static PyObject *
sum_of(PyObject *list, const Clues *c, double (*fn)(double))
{
    Py_ssize_t k = 0;
    for (Py_ssize_t i = 0; i <= c->mask; i++) {
        if (c->slots[i].key == NULL)
            continue;
        PyObject *x = PyFloat_FromDouble(fn(c->slots[i].f));
        if (x == NULL)
            return NULL;
        PyList_SetItem(list, k++, x); /* steals x, releases the number it replaces */
    }
    return PyObject_CallOneArg(fsum_func, list);
}

static double
log_one_minus(double f)
{
    return log1p(-f);
}

PyDoc_STRVAR(clue_sums_doc,
"clue_sums(table, tokens, max_discriminators, senders, /)\n"
"--\n\n"
"(n, fsum(ln f), fsum(ln(1 - f)), meets) over the distinct tokens found in table.\n\n"
"table: dict token -> f(w) (float) of every clue token; tokens: list, tuple, set or\n"
"frozenset; max_discriminators: int; senders: dict token -> int (1 known good,\n"
"2 known bad) or None.  meets is the OR of the senders' values of the tokens.\n"
"None when more than max_discriminators tokens are clues, or a value is outside\n"
"(0, 1): then the Python path decides.");

static PyObject *
clue_sums(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_Format(PyExc_TypeError,
                     "clue_sums takes 4 arguments (table, tokens, max_discriminators, "
                     "senders), not %zd", nargs);
        return NULL;
    }
    PyObject *table = args[0], *tokens = args[1], *limit = args[2], *senders = args[3];
    if (!PyDict_CheckExact(table)) {
        PyErr_Format(PyExc_TypeError, "clue_sums: table must be a dict, not %.100s",
                     Py_TYPE(table)->tp_name);
        return NULL;
    }
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
    if (senders == Py_None)
        senders = NULL;
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

    Slot small[SMALL_SLOTS];
    memset(small, 0, sizeof(small));
    Clues c = {small, SMALL_SLOTS - 1, 0, 0};
    long meets = 0;

    if (is_seq) {
        /* by index, re-reading the size: an __eq__ of an odd token could change a list */
        for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(tokens); i++) {
            PyObject *token = PySequence_Fast_GET_ITEM(tokens, i);
            Py_INCREF(token); /* held while a comparison may run other code */
            int rc = visit(token, table, senders, &c, 0, &meets);
            Py_DECREF(token);
            if (rc < 0)
                goto fail;
        }
    }
    else {
        PyObject *it = PyObject_GetIter(tokens);
        if (it == NULL)
            goto fail;
        PyObject *token;
        while ((token = PyIter_Next(it)) != NULL) {
            int rc = visit(token, table, senders, &c, 1, &meets);
            Py_DECREF(token);
            if (rc < 0) {
                Py_DECREF(it);
                goto fail;
            }
        }
        Py_DECREF(it);
        if (PyErr_Occurred()) /* the set changed size while it was read */
            goto fail;
    }

    Py_ssize_t n = c.used;
    if ((long long)n > most)
        goto python_decides;
    for (Py_ssize_t i = 0; i <= c.mask; i++) {
        double f = c.slots[i].f;
        if (c.slots[i].key != NULL && !(f > 0.0 && f < 1.0))
            goto python_decides; /* math.log / log1p would raise: leave it to Python */
    }

    PyObject *ln_f = NULL, *ln_1f = NULL, *result = NULL;
    if (n == 0) {
        ln_f = PyFloat_FromDouble(0.0);
        ln_1f = PyFloat_FromDouble(0.0);
    }
    else {
        PyObject *numbers = PyList_New(n);
        if (numbers == NULL)
            goto fail;
        ln_f = sum_of(numbers, &c, log);
        if (ln_f != NULL)
            ln_1f = sum_of(numbers, &c, log_one_minus);
        Py_DECREF(numbers);
    }
    if (ln_f != NULL && ln_1f != NULL)
        result = Py_BuildValue("(nOOl)", n, ln_f, ln_1f, meets);
    Py_XDECREF(ln_f);
    Py_XDECREF(ln_1f);
    clues_free(&c);
    return result;

python_decides:
    clues_free(&c);
    Py_RETURN_NONE;

fail:
    clues_free(&c);
    return NULL;
}

static PyMethodDef methods[] = {
    {"clue_sums", (PyCFunction)(void (*)(void))clue_sums, METH_FASTCALL, clue_sums_doc},
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
