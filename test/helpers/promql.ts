// Reads the parts of a PromQL expression that name things, for tests of dashboards and alert
// rules: the series it selects (metric and label matchers), the labels it groups by, and the
// functions it calls. Enough of PromQL for that, not an evaluator; anything it cannot read throws.
export interface Matcher { label: string, operator: '=' | '!=' | '=~' | '!~', value: string }
export interface Selector { metric: string, matchers: Matcher[] }
export interface Names { selectors: Selector[], groupingLabels: string[], functions: string[] }

/** PromQL's functions and aggregations (those a dashboard is likely to use; extend as needed). */
const FUNCTIONS = new Set([
  'sum', 'min', 'max', 'avg', 'count', 'topk', 'bottomk', 'quantile', 'stddev', 'count_values', 'group',
  'rate', 'irate', 'increase', 'delta', 'idelta', 'deriv', 'changes', 'resets', 'histogram_quantile',
  'abs', 'absent', 'absent_over_time', 'ceil', 'floor', 'round', 'clamp', 'clamp_min', 'clamp_max', 'sqrt', 'exp', 'ln',
  'avg_over_time', 'min_over_time', 'max_over_time', 'sum_over_time', 'count_over_time', 'last_over_time', 'vector', 'scalar', 'time'
])
const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right'])
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset'])

type Token = { kind: 'name' | 'string' | 'number' | 'punct', text: string }

// Grafana's interval variables, which stand where a duration goes.
const GRAFANA_INTERVALS = /\$__(rate_interval|interval|range)\b/g
const TOKEN = /\s*(?:([a-zA-Z_:][a-zA-Z0-9_:]*)|"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|(\d+(?:\.\d+)?(?:e[+-]?\d+)?(?:ms|[smhdwy])?)|(=~|!~|!=|==|>=|<=|[-+*/%^(){}[\],=<>]))/y

function tokenize (expression: string): Token[] {
  const text = expression.replace(GRAFANA_INTERVALS, '5m')
  const tokens: Token[] = []
  TOKEN.lastIndex = 0
  while (TOKEN.lastIndex < text.length) {
    if (/^\s*$/.test(text.slice(TOKEN.lastIndex))) break
    const at = TOKEN.lastIndex
    const match = TOKEN.exec(text)
    if (match === null) throw new Error(`cannot read PromQL at ${JSON.stringify(text.slice(at, at + 30))}`)
    const [, name, double, single, number, punct] = match
    if (name !== undefined) tokens.push({ kind: 'name', text: name })
    else if (double !== undefined || single !== undefined) tokens.push({ kind: 'string', text: (double ?? single ?? '').replace(/\\(.)/g, '$1') })
    else if (number !== undefined) tokens.push({ kind: 'number', text: number })
    else tokens.push({ kind: 'punct', text: punct ?? '' })
  }
  return tokens
}

export function namesIn (expression: string): Names {
  const tokens = tokenize(expression)
  const names: Names = { selectors: [], groupingLabels: [], functions: [] }
  const expect = (index: number, text: string): void => {
    if (tokens[index]?.text !== text) throw new Error(`expected ${text} at token ${index} of ${expression}`)
  }
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index]!
    if (token.kind === 'punct' && token.text === '[') {
      // A range or subquery: [5m], [1h:1m].
      while (index < tokens.length && tokens[index]?.text !== ']') index++
      continue
    }
    if (token.kind !== 'name') continue
    const next = tokens[index + 1]
    if (GROUPING.has(token.text) && next?.text === '(') {
      for (index += 2; tokens[index]?.text !== ')'; index++) {
        if (tokens[index]?.kind === 'name') names.groupingLabels.push(tokens[index]!.text)
        else expect(index, ',')
      }
      continue
    }
    // `sum(…)`, and `sum by (…) (…)` with its grouping first.
    if (next?.text === '(' || (FUNCTIONS.has(token.text) && GROUPING.has(next?.text ?? ''))) {
      if (!FUNCTIONS.has(token.text)) throw new Error(`unknown PromQL function ${token.text} in ${expression}`)
      names.functions.push(token.text)
      continue
    }
    if (KEYWORDS.has(token.text)) continue
    const selector: Selector = { metric: token.text, matchers: [] }
    if (next?.text === '{') {
      for (index += 2; tokens[index]?.text !== '}'; index++) {
        const [label, operator, value] = [tokens[index], tokens[index + 1], tokens[index + 2]]
        if (label?.kind !== 'name' || !['=', '!=', '=~', '!~'].includes(operator?.text ?? '') || value?.kind !== 'string') {
          throw new Error(`cannot read the matchers of ${token.text} in ${expression}`)
        }
        selector.matchers.push({ label: label.text, operator: operator!.text as Matcher['operator'], value: value.text })
        index += 3
        if (tokens[index]?.text === '}') break
        expect(index, ',')
      }
    }
    names.selectors.push(selector)
  }
  return names
}
