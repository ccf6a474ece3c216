// Splitting a list answer into the exact text of its elements: a filtered list must send each
// element the caller may see byte for byte as Code Ocean wrote it.
import t from 'tap'
import { jsonArrayElements } from '../../src/policy/json-array.js'

const texts = (text: string): string[] | undefined => jsonArrayElements(text)?.map((element) => element.text)

t.test('each element keeps its exact text next to its parsed value', async (t) => {
  t.same(jsonArrayElements('[1e3,-0.0,1.50,"\\u0041"]'), [
    { text: '1e3', value: 1000 },
    { text: '-0.0', value: -0 },
    { text: '1.50', value: 1.5 },
    { text: '"\\u0041"', value: 'A' }
  ])
})

t.test('commas, brackets and braces inside strings do not split an element', async (t) => {
  t.same(texts('["a,b","x]y","{z}","[,]"]'), ['"a,b"', '"x]y"', '"{z}"', '"[,]"'])
})

t.test('an escaped quote does not end a string, and an escaped backslash does', async (t) => {
  t.same(texts('["a\\"],[", "b"]'), ['"a\\"],["', '"b"'], 'an escaped quote keeps the string open')
  t.same(texts('["\\\\", "],"]'), ['"\\\\"', '"],"'], 'a string ending in an escaped backslash closes at the next quote')
})

t.test('nested arrays and objects are one element each, commas and all', async (t) => {
  const elements = jsonArrayElements('[{"id":"a","tags":["x","y"],"n":{"m":[1,{"k":"}"}]}},[[],[1,2]],{}]')
  t.same(elements?.map((element) => element.text), ['{"id":"a","tags":["x","y"],"n":{"m":[1,{"k":"}"}]}}', '[[],[1,2]]', '{}'])
  t.same(elements?.[0]?.value, { id: 'a', tags: ['x', 'y'], n: { m: [1, { k: '}' }] } })
})

t.test('whitespace around elements and around the array is dropped, whitespace inside them is kept', async (t) => {
  t.same(texts('\n  [ 1 ,\t{ "a" : 2 } ,\r\n "b c" ]  \n'), ['1', '{ "a" : 2 }', '"b c"'])
})

t.test('literals and empty strings are elements too', async (t) => {
  t.same(jsonArrayElements('[null,true,false,""]'), [
    { text: 'null', value: null },
    { text: 'true', value: true },
    { text: 'false', value: false },
    { text: '""', value: '' }
  ])
})

t.test('an empty array has no elements, with or without whitespace inside', async (t) => {
  t.same(jsonArrayElements('[]'), [])
  t.same(jsonArrayElements(' [ \n ] '), [])
})

t.test('re-joining the elements gives back an array equal to the original', async (t) => {
  const original = '[{"id":"c1","name":"a, \\"quoted\\" [name]"},{"id":"c2","results":[{"path":"x/y"}]},3]'
  const elements = jsonArrayElements(original) ?? []
  t.equal(`[${elements.map((element) => element.text).join(',')}]`, original)
})

t.test('anything but a JSON array is undefined', async (t) => {
  const cases: Array<[string, string]> = [
    ['{"a":[1,2]}', 'an object'],
    ['"[1,2]"', 'a string holding an array'],
    ['null', 'null'],
    ['42', 'a number'],
    ['[1,', 'a truncated array'],
    ['[1,]', 'a trailing comma'],
    ['', 'an empty body'],
    ['[1] [2]', 'two arrays']
  ]
  for (const [text, what] of cases) t.equal(jsonArrayElements(text), undefined, what)
})
