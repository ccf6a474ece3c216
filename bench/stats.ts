// The few statistics the benchmark reports: median and range over rounds, exact percentiles of
// latencies, and a least-squares slope for memory over time.

export function median (values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] as number : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

export function range (values: readonly number[]): [number, number] {
  return [Math.min(...values), Math.max(...values)]
}

/** The p-th percentile (0–100) of ascending `sorted`, nearest rank. */
export function percentile (sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1))] as number
}

/** The least-squares slope of y over x. */
export function slope (xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length
  const meanX = xs.reduce((sum, x) => sum + x, 0) / n
  const meanY = ys.reduce((sum, y) => sum + y, 0) / n
  let covariance = 0
  let variance = 0
  for (let i = 0; i < n; i++) {
    covariance += ((xs[i] as number) - meanX) * ((ys[i] as number) - meanY)
    variance += ((xs[i] as number) - meanX) ** 2
  }
  return variance === 0 ? Number.NaN : covariance / variance
}
