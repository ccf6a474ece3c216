// "Fastify answering locally": the floor under any Fastify service. Answers GET computation and
// a run with a fixed Computation (BENCH_COMPUTATION, as the simulator sent it); forwards nothing.
import Fastify from 'fastify'

const computation = String(process.env.BENCH_COMPUTATION)
const app = Fastify({ logger: false })
app.get('/api/v1/computations/:id', async (_request, reply) => await reply.type('application/json').send(computation))
app.post('/api/v1/computations', async (_request, reply) => await reply.type('application/json').send(computation))
process.on('SIGTERM', () => { void app.close().then(() => process.exit(0)) })
process.stdout.write(`${await app.listen({ host: '127.0.0.1', port: 0 })}\n`)
