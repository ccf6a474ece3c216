// Schema helpers and the unknown-null rule, on their own.
import { Type } from '@sinclair/typebox'
import t from 'tap'
import { ref } from '../schemas/common.js'
import { dropUnknownNulls } from '../src/validation/unknown-nulls.js'

t.test('ref() needs a schema with an $id', async (t) => {
  t.equal(ref(Type.String({ $id: 'Name' })).$ref, 'Name')
  t.throws(() => ref(Type.String()), TypeError)
})

t.test('only null-valued properties unknown to a closed object are dropped', async (t) => {
  const Inner = Type.Object({ a: Type.String() }, { $id: 'Inner', additionalProperties: false })
  const Open = Type.Object({ a: Type.String() }, { additionalProperties: true })
  const Outer = Type.Object({
    inner: Type.Union([Type.Ref('Inner'), Type.Null()]),
    list: Type.Array(Type.Ref('Inner')),
    open: Open,
    dangling: Type.Ref('Missing')
  }, { additionalProperties: false })
  const value = {
    inner: { a: 'x', gone: null, kept: 1 },
    list: [{ a: 'y', gone: null }, 'not an object'],
    open: { a: 'z', stays: null },
    dangling: { stays: null },
    gone: null,
    kept: 0
  }
  dropUnknownNulls(Outer, value, (id) => (id === 'Inner' ? Inner : undefined))
  t.same(value, {
    inner: { a: 'x', kept: 1 },
    list: [{ a: 'y' }, 'not an object'],
    open: { a: 'z', stays: null },
    dangling: { stays: null },
    kept: 0
  })
})
